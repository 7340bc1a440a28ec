package fortress.ledger.write;

import fortress.ledger.Times;
import fortress.ledger.v1.Hold;
import fortress.ledger.v1.HoldState;

/**
 * A hold's state inside one writer batch. A hold with a {@code txid} is a two-phase commit's
 * prepare: only the transaction's decision resolves it. Mutable; owned by the writer thread.
 */
final class HoldRow {
  final String holdId;
  final AccountRow account;
  final long amount;
  final Long expireMicros;
  final String requestId;
  final long createdMicros;
  final String txid;
  final boolean inserted;
  HoldState state;
  long captured;
  Long resolvedMicros;
  boolean changed;

  HoldRow(String holdId, AccountRow account, long amount, long captured, HoldState state, Long expireMicros,
      String requestId, long createdMicros, Long resolvedMicros, String txid, boolean inserted) {
    this.holdId = holdId;
    this.account = account;
    this.amount = amount;
    this.captured = captured;
    this.state = state;
    this.expireMicros = expireMicros;
    this.requestId = requestId;
    this.createdMicros = createdMicros;
    this.resolvedMicros = resolvedMicros;
    this.txid = txid;
    this.inserted = inserted;
  }

  void resolve(HoldState to, long capturedAmount, long nowMicros) {
    this.state = to;
    this.captured = capturedAmount;
    this.resolvedMicros = nowMicros;
    this.changed = true;
  }

  Hold toProto() {
    Hold.Builder b = Hold.newBuilder()
        .setHoldId(holdId)
        .setAccountId(account.accountId)
        .setAmount(amount)
        .setCapturedAmount(captured)
        .setState(state);
    if (expireMicros != null) {
      b.setExpireTime(Times.timestamp(expireMicros));
    }
    return b.build();
  }
}
