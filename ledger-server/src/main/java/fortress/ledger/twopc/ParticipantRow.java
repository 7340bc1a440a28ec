package fortress.ledger.twopc;

import fortress.ledger.write.AccountRow;
import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;

/**
 * A transaction leg this node received as participant, as one writer batch sees it: a row of
 * {@code tpc_participant}. A tombstone (an Abort that came before any Prepare) has no account.
 * Its state moves only through {@link Transitions}. Mutable; owned by the writer thread.
 */
public final class ParticipantRow {
  public final String txid;
  public final String coordinator;
  public final String tenantId;
  public final AccountRow account;
  public final long amount;
  public final String requestId;
  public final String memo;
  public final long createdMicros;
  /** True when this batch created the row. */
  public final boolean inserted;
  private TransactionState state;
  private Long entrySequence;
  private Long resolvedMicros;
  private boolean changed;

  /** A row as stored; {@code inserted} rows are created by {@link Steps} only. */
  public ParticipantRow(String txid, TransactionState state, String coordinator, String tenantId, AccountRow account,
      long amount, String requestId, String memo, Long entrySequence, long createdMicros, Long resolvedMicros) {
    this(txid, state, coordinator, tenantId, account, amount, requestId, memo, entrySequence, createdMicros,
        resolvedMicros, false);
  }

  private ParticipantRow(String txid, TransactionState state, String coordinator, String tenantId, AccountRow account,
      long amount, String requestId, String memo, Long entrySequence, long createdMicros, Long resolvedMicros,
      boolean inserted) {
    this.txid = txid;
    this.state = state;
    this.coordinator = coordinator;
    this.tenantId = tenantId;
    this.account = account;
    this.amount = amount;
    this.requestId = requestId;
    this.memo = memo;
    this.entrySequence = entrySequence;
    this.createdMicros = createdMicros;
    this.resolvedMicros = resolvedMicros;
    this.inserted = inserted;
  }

  /** A new leg, moved from nothing to {@code state} through the table. */
  static ParticipantRow create(String txid, TransactionState state, String coordinator, String tenantId,
      AccountRow account, long amount, String requestId, String memo, long nowMicros) {
    Transitions.check(fortress.shard.v1.Role.ROLE_PARTICIPANT, txid, Transitions.NEW, state);
    boolean resolved = state != TransactionState.TRANSACTION_STATE_PREPARED;
    return new ParticipantRow(txid, state, coordinator, tenantId, account, amount, requestId, memo, null, nowMicros,
        resolved ? nowMicros : null, true);
  }

  public TransactionState state() {
    return state;
  }

  public Long entrySequence() {
    return entrySequence;
  }

  public Long resolvedMicros() {
    return resolvedMicros;
  }

  /** True when this batch created or changed the row. */
  public boolean dirty() {
    return inserted || changed;
  }

  void moveTo(TransactionState to, Long entrySequence, long nowMicros) {
    Transitions.check(Role.ROLE_PARTICIPANT, txid, state, to);
    this.state = to;
    this.entrySequence = entrySequence;
    this.resolvedMicros = nowMicros;
    this.changed = true;
  }
}
