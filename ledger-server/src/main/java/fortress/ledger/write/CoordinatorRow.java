package fortress.ledger.write;

import fortress.shard.v1.TransactionState;

/** A transaction this node coordinates, inside one writer batch. Mutable; owned by the writer thread. */
final class CoordinatorRow {
  final String txid;
  final String participant;
  final String tenantId;
  final String requestId;
  final byte[] requestHash;
  final AccountRow from;
  final String toAccountId;
  final long amount;
  final String memo;
  final long createdMicros;
  final boolean inserted;
  TransactionState state;
  Long decidedMicros;
  Long doneMicros;
  boolean changed;

  CoordinatorRow(String txid, TransactionState state, String participant, String tenantId, String requestId,
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

  void moveTo(TransactionState to, long nowMicros) {
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
