package fortress.ledger.journal;

import static com.google.common.base.Preconditions.checkState;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.sql.SQLException;
import java.util.Arrays;
import org.postgresql.copy.CopyOut;

/**
 * Reads journal entries from a {@code COPY ... TO STDOUT (FORMAT binary)} of {@link #SELECT}, one
 * at a time, straight into an {@link EntryChunk} in {@link Chain}'s canonical form. The binary
 * format already frames each text as a 32-bit length (-1 for NULL) and its UTF-8 bytes, as the
 * canonical form does, so texts are copied unchanged and never decoded. The fields the replay needs
 * are left in this object's fields for the current entry. Not thread-safe.
 */
final class CopyRows {
  /** The columns, in canonical order: the fixed fields, then the texts, then the stored digests. */
  static final String SELECT = "SELECT sequence, account_ref, kind, amount, balance_after, held_after, created_at, "
      + "request_id, hold_id, transfer_id, memo, hash, hmac FROM journal ORDER BY sequence";
  private static final int COLUMNS = 13;
  private static final int TEXTS = 4;
  private static final int FIXED_CANONICAL_BYTES = 6 * 8 + 4;
  private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};
  /** PostgreSQL sends a timestamptz as microseconds since 2000-01-01 UTC. */
  private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);

  private final CopyOut copy;
  private byte[] buffer = new byte[0];
  private int at;
  private boolean ended;

  long sequence;
  long accountRef;
  int kind;
  long amount;
  long balanceAfter;
  long heldAfter;

  CopyRows(CopyOut copy) throws SQLException {
    this.copy = copy;
    need(SIGNATURE.length + 8);
    checkState(Arrays.equals(buffer, at, at + SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length),
        "the journal COPY did not start with the binary signature");
    at += SIGNATURE.length;
    checkState(int32() == 0, "the journal COPY carries OIDs or unknown flags");
    int extension = int32();
    need(extension);
    at += extension;
  }

  /** Reads the next entry into the chunk's next row; false after the last entry. */
  boolean next(EntryChunk chunk) throws SQLException {
    checkState(!ended, "the journal COPY already ended");
    need(2);
    short fields = (short) SHORT.get(buffer, at);
    at += 2;
    if (fields == -1) {
      checkState(at == buffer.length && copy.readFromCopy() == null, "the journal COPY sent data after its end");
      ended = true;
      return false;
    }
    checkState(fields == COLUMNS, "the journal COPY sent %s columns, not %s", fields, COLUMNS);
    int row = chunk.rows;
    int out = chunk.offset[row];
    chunk.reserve(out + FIXED_CANONICAL_BYTES);
    byte[] canonical = chunk.canonical;
    sequence = int64();
    accountRef = int64();
    kind = int16();
    amount = int64();
    balanceAfter = int64();
    heldAfter = int64();
    long createdMicros = int64() + POSTGRES_EPOCH_MICROS;
    LONG.set(canonical, out, sequence);
    LONG.set(canonical, out + 8, accountRef);
    INT.set(canonical, out + 16, kind);
    LONG.set(canonical, out + 20, amount);
    LONG.set(canonical, out + 28, balanceAfter);
    LONG.set(canonical, out + 36, heldAfter);
    LONG.set(canonical, out + 44, createdMicros);
    chunk.offset[row + 1] = out + FIXED_CANONICAL_BYTES;
    for (int t = 0; t < TEXTS; t++) {
      text(chunk, row);
    }
    chunk.hashLengthRight[row] = digest(chunk.hash, row);
    chunk.hmacLengthRight[row] = digest(chunk.hmac, row);
    chunk.sequence[row] = sequence;
    chunk.rows = row + 1;
    return true;
  }

  /** Reads what is left of the COPY, after a problem was found, so the connection can be used again. */
  void drain() throws SQLException {
    while (!ended) {
      ended = copy.readFromCopy() == null;
    }
  }

  /** Appends one text field to row {@code row}'s canonical bytes: its length (-1: NULL), then its bytes. */
  private void text(EntryChunk chunk, int row) throws SQLException {
    int length = int32();
    int size = 4 + Math.max(length, 0);
    int out = chunk.offset[row + 1];
    chunk.reserve(out + size);
    INT.set(chunk.canonical, out, length);
    if (length > 0) {
      need(length);
      System.arraycopy(buffer, at, chunk.canonical, out + 4, length);
      at += length;
    }
    chunk.offset[row + 1] = out + size;
  }

  /** Copies a stored digest into row {@code row}'s 32-byte slot; false if it is not 32 bytes long. */
  private boolean digest(byte[] slots, int row) throws SQLException {
    int length = int32();
    checkState(length >= 0, "a journal digest is NULL");
    need(length);
    int d = EntryChunk.DIGEST_BYTES;
    if (length < d) {
      Arrays.fill(slots, row * d, (row + 1) * d, (byte) 0);
    }
    System.arraycopy(buffer, at, slots, row * d, Math.min(length, d));
    at += length;
    return length == d;
  }

  private long int64() throws SQLException {
    checkState(int32() == 8, "a journal bigint column is NULL or not 8 bytes");
    need(8);
    long v = (long) LONG.get(buffer, at);
    at += 8;
    return v;
  }

  private int int16() throws SQLException {
    checkState(int32() == 2, "a journal smallint column is NULL or not 2 bytes");
    need(2);
    short v = (short) SHORT.get(buffer, at);
    at += 2;
    return v;
  }

  private int int32() throws SQLException {
    need(4);
    int v = (int) INT.get(buffer, at);
    at += 4;
    return v;
  }

  /**
   * Makes {@code bytes} unread bytes available. PostgreSQL sends each entry as one COPY message,
   * so this almost always just takes the next message; a field split across messages is joined.
   */
  private void need(int bytes) throws SQLException {
    while (buffer.length - at < bytes) {
      byte[] more = copy.readFromCopy();
      checkState(more != null, "the journal COPY ended inside an entry");
      if (at == buffer.length) {
        buffer = more;
      } else {
        byte[] joined = Arrays.copyOf(Arrays.copyOfRange(buffer, at, buffer.length), buffer.length - at + more.length);
        System.arraycopy(more, 0, joined, buffer.length - at, more.length);
        buffer = joined;
      }
      at = 0;
    }
  }
}
