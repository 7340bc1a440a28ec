package fortress.ledger;

import io.grpc.Status;

/**
 * Every expected outcome other than success, as the ErrorInfo reason clients see, with the
 * canonical status code it maps to (AIP-193). Reasons are data: nothing matches on messages.
 */
public enum Reason {
  INVALID_FIELD(Status.Code.INVALID_ARGUMENT),
  ACCOUNT_NOT_FOUND(Status.Code.NOT_FOUND),
  ACCOUNT_ALREADY_EXISTS(Status.Code.ALREADY_EXISTS),
  REQUEST_ID_REUSED(Status.Code.ALREADY_EXISTS),
  INSUFFICIENT_FUNDS(Status.Code.FAILED_PRECONDITION),
  BALANCE_OVERFLOW(Status.Code.FAILED_PRECONDITION),
  HOLD_NOT_FOUND(Status.Code.NOT_FOUND),
  HOLD_NOT_ACTIVE(Status.Code.FAILED_PRECONDITION),
  HOLD_EXPIRED(Status.Code.FAILED_PRECONDITION),
  CAPTURE_EXCEEDS_HOLD(Status.Code.FAILED_PRECONDITION),
  OPERATION_NOT_FOUND(Status.Code.NOT_FOUND),
  WRITER_QUEUE_FULL(Status.Code.RESOURCE_EXHAUSTED),
  SHUTTING_DOWN(Status.Code.UNAVAILABLE),
  STORAGE_UNAVAILABLE(Status.Code.UNAVAILABLE),
  /** The account lives on another node under the current ring; metadata names the owner and epoch. */
  WRONG_NODE(Status.Code.FAILED_PRECONDITION),
  /** A cross-node transfer with this request_id is still being decided; retry with the same id. */
  TRANSFER_IN_PROGRESS(Status.Code.UNAVAILABLE),
  /** A cross-node transfer was aborted (the other node did not vote in time); nothing moved. */
  TRANSFER_ABORTED(Status.Code.ABORTED),
  /** ShardService: no such transaction on this node. */
  TRANSACTION_NOT_FOUND(Status.Code.NOT_FOUND),
  /** ShardService: the transaction was already decided the other way; metadata names the decision. */
  TRANSACTION_DECIDED(Status.Code.FAILED_PRECONDITION),
  /** The node that owns the account could not be reached. */
  NODE_UNAVAILABLE(Status.Code.UNAVAILABLE);

  public static final String DOMAIN = "ledger.fortress.dev";

  private final Status.Code code;

  Reason(Status.Code code) {
    this.code = code;
  }

  public Status.Code code() {
    return code;
  }
}
