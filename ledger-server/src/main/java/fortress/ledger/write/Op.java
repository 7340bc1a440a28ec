package fortress.ledger.write;

import com.google.protobuf.Message;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.TransferRequest;
import java.util.List;

/**
 * One validated mutation on its way to the writer. The request message is the command; the keys
 * it touches ({@code accountIds}, {@code holdId}, null when none) are read off it once, here.
 */
public record Op(OpKind kind, Message request, String tenantId, String requestId, List<String> accountIds,
    String holdId) {

  public static Op of(Message request) {
    if (request instanceof CreateAccountRequest r) {
      return new Op(OpKind.CREATE_ACCOUNT, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null);
    } else if (request instanceof DepositRequest r) {
      return new Op(OpKind.DEPOSIT, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null);
    } else if (request instanceof ConsumeRequest r) {
      return new Op(OpKind.CONSUME, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null);
    } else if (request instanceof TransferRequest r) {
      return new Op(OpKind.TRANSFER, r, r.getTenantId(), r.getRequestId(),
          List.of(r.getFromAccountId(), r.getToAccountId()), null);
    } else if (request instanceof CreateHoldRequest r) {
      return new Op(OpKind.CREATE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null);
    } else if (request instanceof CaptureHoldRequest r) {
      return new Op(OpKind.CAPTURE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(), r.getHoldId());
    } else if (request instanceof ReleaseHoldRequest r) {
      return new Op(OpKind.RELEASE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(), r.getHoldId());
    }
    throw new IllegalArgumentException("not a mutation: " + request.getDescriptorForType().getFullName());
  }
}
