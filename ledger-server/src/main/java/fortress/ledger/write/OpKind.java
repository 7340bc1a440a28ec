package fortress.ledger.write;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountResponse;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferResponse;

/**
 * The mutations. Public kinds' codes equal the BatchOperation field numbers and are stored in
 * idempotency rows. The two-phase commit steps (codes from 100) are the writer's own commands;
 * their idempotency comes from the transaction id, and a cross-node transfer's response is recorded
 * as a TRANSFER.
 */
public enum OpKind {
  CREATE_ACCOUNT(1, CreateAccountResponse.parser()),
  DEPOSIT(2, DepositResponse.parser()),
  CONSUME(3, ConsumeResponse.parser()),
  TRANSFER(4, TransferResponse.parser()),
  CREATE_HOLD(5, CreateHoldResponse.parser()),
  CAPTURE_HOLD(6, CaptureHoldResponse.parser()),
  RELEASE_HOLD(7, ReleaseHoldResponse.parser()),
  /** Coordinator: hold the debit and record PREPARING. */
  TX_BEGIN(101, TransferResponse.parser()),
  /** Coordinator: decide COMMITTED and post the held debit. */
  TX_COMMIT(102, null),
  /** Coordinator: decide ABORTED and release the held debit. */
  TX_ABORT(103, null),
  /** Coordinator: the participant acknowledged the commit; DONE. */
  TX_FINISH(104, null),
  /** Coordinator: GetDecision for a txid with no record; record the abort (a tombstone) before answering. */
  TX_PRESUME_ABORT(105, null),
  /** Participant: record the credit leg as PREPARED. */
  LEG_PREPARE(111, null),
  /** Participant: apply the credit leg. */
  LEG_COMMIT(112, null),
  /** Participant: forget the credit leg. */
  LEG_ABORT(113, null);

  private final int code;
  private final Parser<? extends Message> responseParser;

  OpKind(int code, Parser<? extends Message> responseParser) {
    this.code = code;
    this.responseParser = responseParser;
  }

  public int code() {
    return code;
  }

  /** True for the two-phase commit steps, which never come from a client directly. */
  public boolean twoPhase() {
    return code > 100;
  }

  /** The kind an idempotency row records: a cross-node transfer is recorded as a TRANSFER. */
  public OpKind recordedAs() {
    return this == TX_BEGIN ? TRANSFER : this;
  }

  public Parser<? extends Message> responseParser() {
    return responseParser;
  }

  public static OpKind ofCode(int code) {
    for (OpKind k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown operation code " + code);
  }
}
