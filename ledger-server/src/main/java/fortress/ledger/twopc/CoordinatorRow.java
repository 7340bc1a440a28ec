package fortress.ledger.twopc;

import fortress.ledger.write.AccountRow;
import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;

/**
 * A transaction this node coordinates, as one writer batch sees it: a row of
 * {@code tpc_coordinator}. Its state moves only through {@link Transitions}. Mutable; owned by the
 * writer thread.
 */
public final class CoordinatorRow {
  public final String txid;
  public final String participant;
  public final String tenantId;
  public final String requestId;
  public final byte[] requestHash;
  public final AccountRow from;
  public final String toAccountId;
  public final long amount;
  public final String memo;
  public final long createdMicros;
  /** True when this batch created the row. */
  public final boolean inserted;
  private TransactionState state;
  private Long decidedMicros;
  private Long doneMicros;
  private boolean changed;

  /** A row as stored; {@code inserted} rows are created by {@link Steps} only. */
  public CoordinatorRow(String txid, TransactionState state, String participant, String tenantId, String requestId,
      byte[] requestHash, AccountRow from, String toAccountId, long amount, String memo, long createdMicros,
      Long decidedMicros, Long doneMicros) {
    this(txid, state, participant, tenantId, requestId, requestHash, from, toAccountId, amount, memo, createdMicros,
        decidedMicros, doneMicros, false);
  }

  /** A new transaction, moved from nothing to PREPARING through the table. */
  static CoordinatorRow create(String txid, String participant, String tenantId, String requestId, byte[] requestHash,
      AccountRow from, String toAccountId, long amount, String memo, long nowMicros) {
    Transitions.check(Role.ROLE_COORDINATOR, txid, Transitions.NEW, TransactionState.TRANSACTION_STATE_PREPARING);
    return new CoordinatorRow(txid, TransactionState.TRANSACTION_STATE_PREPARING, participant, tenantId, requestId,
        requestHash, from, toAccountId, amount, memo, nowMicros, null, null, true);
  }

  private CoordinatorRow(String txid, TransactionState state, String participant, String tenantId, String requestId,
      byte[] requestHash, AccountRow from, String toAccountId, long amount, String memo, long createdMicros,
      Long decidedMicros, Long doneMicros, boolean inserted) {
    this.txid = txid;
    this.state = state;
    this.participant = participant;
    this.tenantId = tenantId;
    this.requestId = requestId;
    this.requestHash = requestHash;
    this.from = from;
    this.toAccountId = toAccountId;
    this.amount = amount;
    this.memo = memo;
    this.createdMicros = createdMicros;
    this.decidedMicros = decidedMicros;
    this.doneMicros = doneMicros;
    this.inserted = inserted;
  }

  public TransactionState state() {
    return state;
  }

  public Long decidedMicros() {
    return decidedMicros;
  }

  public Long doneMicros() {
    return doneMicros;
  }

  /** True when this batch created or changed the row. */
  public boolean dirty() {
    return inserted || changed;
  }

  void moveTo(TransactionState to, long nowMicros) {
    Transitions.check(Role.ROLE_COORDINATOR, txid, state, to);
    if (state == TransactionState.TRANSACTION_STATE_PREPARING) {
      decidedMicros = nowMicros;
    }
    if (to == TransactionState.TRANSACTION_STATE_DONE) {
      doneMicros = nowMicros;
    }
    state = to;
    changed = true;
  }
}
