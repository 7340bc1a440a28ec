package fortress.ledger.write;

import fortress.shard.v1.TransactionState;

/**
 * A transaction leg this node received as participant, inside one writer batch. A tombstone (an
 * Abort that came before any Prepare) has no account. Mutable; owned by the writer thread.
 */
final class ParticipantRow {
  final String txid;
  final String coordinator;
  final String tenantId;
  final AccountRow account;
  final long amount;
  final String requestId;
  final String memo;
  final long createdMicros;
  final boolean inserted;
  TransactionState state;
  Long entrySequence;
  Long resolvedMicros;
  boolean changed;

  ParticipantRow(String txid, TransactionState state, String coordinator, String tenantId, AccountRow account,
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

  void resolve(TransactionState to, Long entrySequence, long nowMicros) {
    this.state = to;
    this.entrySequence = entrySequence;
    this.resolvedMicros = nowMicros;
    this.changed = true;
  }
}
