package fortress.proxy.route;

import com.google.protobuf.Message;
import fortress.core.ring.HoldIds;
import fortress.core.ring.Ring;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.TransferRequest;
import java.util.OptionalLong;

/**
 * The ring key each request routes by: its account, a transfer's debited account (whose node
 * coordinates), or the account a hold id carries (GetOperation: the account or hold its
 * request_id is scoped to). Empty when the request names none, or names one
 * no node issued; such a request goes to any node, which answers it (INVALID_ARGUMENT, or
 * HOLD_NOT_FOUND).
 */
public final class Keys {
  private Keys() {}

  public static OptionalLong of(Message request) {
    if (request instanceof CreateAccountRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof DepositRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof ConsumeRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof TransferRequest r) {
      return account(r.getTenantId(), r.getFromAccountId());
    } else if (request instanceof CreateHoldRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof CaptureHoldRequest r) {
      return HoldIds.keyHash(r.getHoldId());
    } else if (request instanceof ReleaseHoldRequest r) {
      return HoldIds.keyHash(r.getHoldId());
    } else if (request instanceof GetAccountRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof ListEntriesRequest r) {
      return account(r.getTenantId(), r.getAccountId());
    } else if (request instanceof GetOperationRequest r) {
      return r.getHoldId().isEmpty() ? account(r.getTenantId(), r.getAccountId()) : HoldIds.keyHash(r.getHoldId());
    } else if (request instanceof BatchOperation op) {
      return switch (op.getOperationCase()) {
        case CREATE_ACCOUNT -> of(op.getCreateAccount());
        case DEPOSIT -> of(op.getDeposit());
        case CONSUME -> of(op.getConsume());
        case TRANSFER -> of(op.getTransfer());
        case CREATE_HOLD -> of(op.getCreateHold());
        case CAPTURE_HOLD -> of(op.getCaptureHold());
        case RELEASE_HOLD -> of(op.getReleaseHold());
        case OPERATION_NOT_SET -> OptionalLong.empty();
      };
    }
    return OptionalLong.empty();
  }

  /** The tenant a batch operation acts for ("" if none is set). */
  public static String tenant(BatchOperation op) {
    return switch (op.getOperationCase()) {
      case CREATE_ACCOUNT -> op.getCreateAccount().getTenantId();
      case DEPOSIT -> op.getDeposit().getTenantId();
      case CONSUME -> op.getConsume().getTenantId();
      case TRANSFER -> op.getTransfer().getTenantId();
      case CREATE_HOLD -> op.getCreateHold().getTenantId();
      case CAPTURE_HOLD -> op.getCaptureHold().getTenantId();
      case RELEASE_HOLD -> op.getReleaseHold().getTenantId();
      case OPERATION_NOT_SET -> "";
    };
  }

  private static OptionalLong account(String tenantId, String accountId) {
    return accountId.isEmpty() || tenantId.isEmpty() ? OptionalLong.empty()
        : OptionalLong.of(Ring.keyHash(tenantId, accountId));
  }
}
