package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.Times;
import fortress.ledger.v1.Hold;
import fortress.ledger.v1.HoldState;

/**
 * A hold's state inside one writer batch: a row of {@code hold}. A hold with a {@code txid} is a
 * two-phase commit's prepare: only the transaction's decision resolves it. A hold leaves ACTIVE
 * exactly once. Mutable; owned by the writer thread.
 */
public final class HoldRow {
  public final String holdId;
  public final AccountRow account;
  public final long amount;
  public final Long expireMicros;
  public final String requestId;
  public final long createdMicros;
  public final String txid;
  /** True when this batch created the row. */
  public final boolean inserted;
  HoldState state;
  long captured;
  Long resolvedMicros;
  boolean changed;

  /** A row as stored. */
  public HoldRow(String holdId, AccountRow account, long amount, long captured, HoldState state, Long expireMicros,
      String requestId, long createdMicros, Long resolvedMicros, String txid) {
    this(holdId, account, amount, captured, state, expireMicros, requestId, createdMicros, resolvedMicros, txid, false);
  }

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

  public HoldState state() {
    return state;
  }

  public long captured() {
    return captured;
  }

  public Long resolvedMicros() {
    return resolvedMicros;
  }

  /** True when this batch created or changed the row. */
  public boolean dirty() {
    return inserted || changed;
  }

  /** Resolves the hold: only an ACTIVE hold can be, and only once. */
  public void resolve(HoldState to, long capturedAmount, long nowMicros) {
    checkState(state == HoldState.HOLD_STATE_ACTIVE && to != HoldState.HOLD_STATE_ACTIVE,
        "hold %s may not move from %s to %s", holdId, state, to);
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
