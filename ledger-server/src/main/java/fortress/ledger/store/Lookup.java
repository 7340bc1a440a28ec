package fortress.ledger.store;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.ledger.Times;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountResponse;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.Operation;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferResponse;

/** What GetOperation found for a request_id, from one snapshot. */
public sealed interface Lookup {
  /** The mutation took effect; its recorded response. */
  record Found(Operation operation) implements Lookup {}

  /** A cross-node transfer with this request_id is still being decided. */
  record InProgress(String txid) implements Lookup {}

  /** Nothing took effect under this request_id (as of the snapshot). */
  record Absent() implements Lookup {}

  /** Asked without a scope, the request_id names operations on several accounts. */
  record Ambiguous() implements Lookup {}

  Absent ABSENT = new Absent();

  /**
   * What one snapshot's rows say: nothing, a record, or an undecided transfer. One scope holds one
   * at most (a request_id in use by an undecided transfer is refused to anything else); several
   * come only from a lookup without a scope, over several accounts, and are ambiguous.
   */
  static Lookup of(java.util.List<Lookup> rows) {
    if (rows.isEmpty()) {
      return ABSENT;
    }
    if (rows.size() == 1) {
      return rows.get(0);
    }
    return new Ambiguous();
  }

  /** A recorded mutation: its kind (the BatchOperation field number) and serialized response. */
  static Found found(String requestId, int kind, byte[] response, long createdMicros) {
    Operation.Builder op = Operation.newBuilder().setRequestId(requestId).setCreateTime(Times.timestamp(createdMicros));
    try {
      switch (kind) {
        case 1 -> op.setCreateAccount(CreateAccountResponse.parseFrom(response));
        case 2 -> op.setDeposit(DepositResponse.parseFrom(response));
        case 3 -> op.setConsume(ConsumeResponse.parseFrom(response));
        case 4 -> op.setTransfer(TransferResponse.parseFrom(response));
        case 5 -> op.setCreateHold(CreateHoldResponse.parseFrom(response));
        case 6 -> op.setCaptureHold(CaptureHoldResponse.parseFrom(response));
        case 7 -> op.setReleaseHold(ReleaseHoldResponse.parseFrom(response));
        default -> throw new IllegalStateException("unknown operation kind " + kind);
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored response for " + requestId + " cannot be parsed", e);
    }
    return new Found(op.build());
  }
}
