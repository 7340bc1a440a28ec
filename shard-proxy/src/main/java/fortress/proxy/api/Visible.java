package fortress.proxy.api;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.GetOperationResponse;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferResponse;
import io.grpc.Status;

/**
 * What a tenant may see of a response: a transfer to another tenant's account shows that account's
 * identifiers only, never its balances, sequence or creation time. Nodes answer so already; the
 * proxy applies it again to every response that can carry a transfer (operations recorded before
 * nodes did, say), so nothing of another tenant leaves the cluster.
 */
final class Visible {
  private Visible() {}

  static TransferResponse transfer(String tenant, TransferResponse r) {
    Account to = r.getToAccount();
    if (!r.hasToAccount() || to.getTenantId().equals(tenant)) {
      return r;
    }
    return r.toBuilder().setToAccount(Account.newBuilder().setAccountId(to.getAccountId())
        .setTenantId(to.getTenantId())).build();
  }

  /**
   * A transfer's answer as the node sent it, as its sender may see it: the same bytes when that
   * changes nothing (the usual case), else the answer encoded again without what it may not see.
   */
  static byte[] transfer(String tenant, byte[] answer) {
    TransferResponse parsed;
    try {
      parsed = TransferResponse.parseFrom(answer);
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL.withDescription("a node's TransferResponse does not parse").withCause(e)
          .asRuntimeException();
    }
    TransferResponse visible = transfer(tenant, parsed);
    return visible == parsed ? answer : visible.toByteArray();
  }

  static GetOperationResponse operation(String tenant, GetOperationResponse r) {
    if (!r.getOperation().hasTransfer()) {
      return r;
    }
    GetOperationResponse.Builder b = r.toBuilder();
    b.getOperationBuilder().setTransfer(transfer(tenant, r.getOperation().getTransfer()));
    return b.build();
  }

  /** A batch's results, each transfer as its sender may see it. */
  static SubmitBatchResponse batch(SubmitBatchResponse r, java.util.function.IntFunction<String> tenantOf) {
    SubmitBatchResponse.Builder b = r.toBuilder();
    for (int i = 0; i < b.getResultsCount(); i++) {
      BatchResult result = b.getResults(i);
      if (result.hasTransfer()) {
        b.setResults(i, result.toBuilder().setTransfer(transfer(tenantOf.apply(i), result.getTransfer())));
      }
    }
    return b.build();
  }
}
