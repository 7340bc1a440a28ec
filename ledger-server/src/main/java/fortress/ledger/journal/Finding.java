package fortress.ledger.journal;

/**
 * The first problem found in one part of the journal: at which entry (its 1-based position in
 * sequence order, and its sequence), by which check, and a plain description. Checks of one entry
 * run in the order of {@link #NUMBERING}, {@link #HASH}, {@link #HMAC}, {@link #REPLAY}, so of two
 * findings the earlier entry wins and, at the same entry, the earlier check.
 */
record Finding(long position, int check, long sequence, String problem) {
  static final int NUMBERING = 0;
  static final int HASH = 1;
  static final int HMAC = 2;
  static final int REPLAY = 3;

  boolean before(Finding other) {
    return other == null || position < other.position || (position == other.position && check < other.check);
  }

  static Finding first(Finding a, Finding b) {
    return a != null && a.before(b) ? a : b;
  }
}
