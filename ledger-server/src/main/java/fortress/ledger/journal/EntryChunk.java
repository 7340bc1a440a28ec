package fortress.ledger.journal;

import static com.google.common.base.Preconditions.checkState;

import java.util.Arrays;

/**
 * A run of consecutive journal entries as read, in flat arrays so that a million entries cost no
 * per-entry objects. Holds each entry's canonical bytes (what {@link Chain} hashes after the
 * previous hash), its stored hash and HMAC, and the stored hash of the entry before the run, so
 * its links can be checked on any thread. A chunk is filled by one thread and then only read.
 */
final class EntryChunk {
  static final int ROWS_MAX = 4_096;
  static final int CANONICAL_BYTES_TARGET = 1 << 20;
  static final int DIGEST_BYTES = 32;

  /** 1-based position in the journal of row 0. */
  long firstPosition;
  int rows;
  final long[] sequence = new long[ROWS_MAX];
  /** Row i's canonical bytes are {@code canonical[offset[i] .. offset[i + 1])}. */
  byte[] canonical = new byte[CANONICAL_BYTES_TARGET + 4_096];
  final int[] offset = new int[ROWS_MAX + 1];
  /** The first 32 bytes of each stored hash and HMAC; a stored value of any other length is wrong. */
  final byte[] hash = new byte[ROWS_MAX * DIGEST_BYTES];
  final byte[] hmac = new byte[ROWS_MAX * DIGEST_BYTES];
  final boolean[] hashLengthRight = new boolean[ROWS_MAX];
  final boolean[] hmacLengthRight = new boolean[ROWS_MAX];
  /** The stored hash of the entry before row 0 (the genesis hash for the first entry). */
  final byte[] previousHash = new byte[DIGEST_BYTES];

  void reset(long firstPosition, byte[] previous) {
    checkState(previous.length == DIGEST_BYTES, "a previous hash has %s bytes", previous.length);
    this.firstPosition = firstPosition;
    rows = 0;
    offset[0] = 0;
    System.arraycopy(previous, 0, previousHash, 0, DIGEST_BYTES);
  }

  boolean full() {
    return rows == ROWS_MAX || offset[rows] >= CANONICAL_BYTES_TARGET;
  }

  /** Room for canonical bytes up to {@code end}; grows only for entries with very long text. */
  void reserve(int end) {
    if (end > canonical.length) {
      canonical = Arrays.copyOf(canonical, Math.max(end, canonical.length * 2));
    }
  }

  /** The stored hash of the last row, padded or cut to 32 bytes. */
  byte[] lastHash() {
    checkState(rows > 0, "an empty chunk has no last hash");
    return Arrays.copyOfRange(hash, (rows - 1) * DIGEST_BYTES, rows * DIGEST_BYTES);
  }
}
