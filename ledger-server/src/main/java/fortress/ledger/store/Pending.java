package fortress.ledger.store;

/**
 * An unfinished two-phase commit transaction as recovery sees it: its id, the other node, and its
 * clock (when it was created, or for a COMMITTED one when it was decided).
 */
public record Pending(String txid, String peer, long clockMicros) {
  /** The three kinds of unfinished transaction recovery pages through, each on its own. */
  public enum Kind {
    /** Coordinator: funds held, no decision yet. */
    PREPARING,
    /** Coordinator: committed, the participant has not acknowledged. */
    COMMITTED,
    /** Participant: voted yes, no decision heard yet. */
    PREPARED
  }

  /** Where a page ends: (clock, txid) of its last row. */
  public record Cursor(long clockMicros, String txid) {
    public static final Cursor START = new Cursor(Long.MIN_VALUE, "");
  }

  public Cursor cursor() {
    return new Cursor(clockMicros, txid);
  }
}
