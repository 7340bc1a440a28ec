package fortress.ledger.twopc;

import fortress.ledger.write.AccountRow;
import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;

/**
 * A transaction this node coordinates, as one writer batch sees it: a row of
 * {@code tpc_coordinator}. A tombstone (presumed abort recorded for a txid this node never began)
 * is ABORTED and has no transfer: its tenant, request, account, amount and memo are null. Its
 * state moves only through {@link Transitions}. Mutable; owned by the writer thread.
 */
public final class CoordinatorRow {
  public final String txid;
  public final String participant;
  public final String tenantId;
  public final String requestId;
  public final byte[] requestHash;
  public final AccountRow from;
  public final String toAccountId;
  /** The debited amount; 0 for a tombstone (stored as null). */
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

  /**
   * A tombstone: presumed abort recorded for a txid this node has no record of, moved from nothing
   * to ABORTED through the table, so a begin of that txid arriving later is refused.
   * {@code participant} is the node that asked, or empty when not known.
   */
  static CoordinatorRow tombstone(String txid, String participant, long nowMicros) {
    Transitions.check(Role.ROLE_COORDINATOR, txid, Transitions.NEW, TransactionState.TRANSACTION_STATE_ABORTED);
    return new CoordinatorRow(txid, TransactionState.TRANSACTION_STATE_ABORTED, participant, null, null, null, null,
        null, 0, null, nowMicros, nowMicros, null, true);
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

  /** True for a tombstone: an abort recorded for a transaction never begun here. */
  public boolean tombstone() {
    return from == null;
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
