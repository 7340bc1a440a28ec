package fortress.ledger.write;

import com.google.protobuf.Message;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.shard.v1.PrepareRequest;
import java.util.List;

/**
 * One validated mutation on its way to the writer. The request message is the command; the keys
 * it touches ({@code accountIds}, {@code holdId}, null when none) are read off it once, here.
 * Two-phase commit steps (made by {@code twopc.Steps}) also carry {@link Tx}; their
 * {@code tenantId} and {@code requestId} are null except for {@link OpKind#TX_BEGIN}, which is the
 * client's transfer.
 */
public record Op(OpKind kind, Message request, String tenantId, String requestId, List<String> accountIds,
    String holdId, Tx tx) {

  /**
   * A two-phase commit step: the transaction, the other node (participant for TX_BEGIN,
   * coordinator for LEG_PREPARE), and for TX_COMMIT the participant's yes vote (its account).
   */
  public record Tx(String txid, String peer, Account vote) {}

  public static Op of(Message request) {
    if (request instanceof CreateAccountRequest r) {
      return new Op(OpKind.CREATE_ACCOUNT, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null, null);
    } else if (request instanceof DepositRequest r) {
      return new Op(OpKind.DEPOSIT, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null, null);
    } else if (request instanceof ConsumeRequest r) {
      return new Op(OpKind.CONSUME, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null, null);
    } else if (request instanceof TransferRequest r) {
      return new Op(OpKind.TRANSFER, r, r.getTenantId(), r.getRequestId(),
          List.of(r.getFromAccountId(), r.getToAccountId()), null, null);
    } else if (request instanceof CreateHoldRequest r) {
      return new Op(OpKind.CREATE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(r.getAccountId()), null, null);
    } else if (request instanceof CaptureHoldRequest r) {
      return new Op(OpKind.CAPTURE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(), r.getHoldId(), null);
    } else if (request instanceof ReleaseHoldRequest r) {
      return new Op(OpKind.RELEASE_HOLD, r, r.getTenantId(), r.getRequestId(), List.of(), r.getHoldId(), null);
    }
    throw new IllegalArgumentException("not a mutation: " + request.getDescriptorForType().getFullName());
  }

  /** The tenant of the operation's {@code i}th account: a transfer may credit another tenant's account. */
  public String accountTenant(int i) {
    if (request instanceof PrepareRequest r) {
      return r.getTenantId();
    }
    return i == 1 && request instanceof TransferRequest r ? creditTenant(r) : tenantId;
  }

  /** The tenant of a transfer's credited account: to_tenant_id, or the request's tenant when empty. */
  public static String creditTenant(TransferRequest r) {
    return r.getToTenantId().isEmpty() ? r.getTenantId() : r.getToTenantId();
  }
}
