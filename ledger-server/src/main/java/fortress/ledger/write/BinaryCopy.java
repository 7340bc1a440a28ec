package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Arrays;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * Rows in PostgreSQL's binary COPY format ({@code COPY ... FROM STDIN (FORMAT binary)}), encoded
 * into one buffer that is reused from batch to batch, then sent in one COPY. Each value is written
 * as the column's binary wire form: no text to format on this side or to parse on the server's.
 * Not thread-safe: owned by the writer thread.
 */
final class BinaryCopy {
  /** The signature, flags (no OIDs) and an empty header extension. */
  private static final byte[] HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0,
      0, 0, 0, 0};
  /** PostgreSQL's timestamps count microseconds from 2000-01-01 UTC. */
  private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
  private static final int INITIAL_BYTES = 1 << 16;

  private byte[] buffer = new byte[INITIAL_BYTES];
  private int size;
  private int rows;
  private int fieldsLeft;

  /** Starts a new COPY, forgetting the previous one's rows. */
  BinaryCopy start() {
    size = 0;
    rows = 0;
    fieldsLeft = 0;
    ensure(HEADER.length);
    System.arraycopy(HEADER, 0, buffer, 0, HEADER.length);
    size = HEADER.length;
    return this;
  }

  /** Starts a row of {@code fields} values, which must all follow before the next row. */
  BinaryCopy row(int fields) {
    checkState(fieldsLeft == 0, "the previous row lacks %s values", fieldsLeft);
    ensure(2);
    putShort(fields);
    fieldsLeft = fields;
    rows++;
    return this;
  }

  BinaryCopy int8(long value) {
    field(8);
    putLong(value);
    return this;
  }

  /** A nullable bigint. */
  BinaryCopy int8(Long value) {
    return value == null ? nullValue() : int8(value.longValue());
  }

  BinaryCopy int2(int value) {
    checkArgument(value == (short) value, "%s does not fit a smallint", value);
    field(2);
    putShort(value);
    return this;
  }

  /** A timestamptz given in microseconds since the Unix epoch. */
  BinaryCopy timestamp(long epochMicros) {
    return int8(epochMicros - POSTGRES_EPOCH_MICROS);
  }

  /** Nullable text, as UTF-8. */
  BinaryCopy text(String value) {
    if (value == null) {
      return nullValue();
    }
    int n = value.length();
    int at = size + 4;
    ensure(4 + n);
    for (int i = 0; i < n; i++) {
      char ch = value.charAt(i);
      if (ch >= 0x80) {
        return bytes(value.getBytes(StandardCharsets.UTF_8));
      }
      buffer[at + i] = (byte) ch;
    }
    field(n);
    size += n;
    return this;
  }

  /** Nullable bytea. */
  BinaryCopy bytes(byte[] value) {
    if (value == null) {
      return nullValue();
    }
    field(value.length);
    System.arraycopy(value, 0, buffer, size, value.length);
    size += value.length;
    return this;
  }

  BinaryCopy nullValue() {
    field(-1);
    return this;
  }

  /**
   * Sends the rows through {@code sql}, a {@code COPY ... FROM STDIN (FORMAT binary)}, and checks
   * that PostgreSQL took every one of them.
   */
  void copyIn(CopyManager copies, String sql) throws SQLException {
    checkState(fieldsLeft == 0, "the last row lacks %s values", fieldsLeft);
    ensure(2);
    putShort(-1);
    CopyIn copy = copies.copyIn(sql);
    long copied;
    try {
      copy.writeToCopy(buffer, 0, size);
      copied = copy.endCopy();
    } catch (SQLException | RuntimeException e) {
      cancel(copy, e);
      throw e;
    }
    checkState(copied == rows, "COPY took %s rows of %s", copied, rows);
  }

  int rows() {
    return rows;
  }

  private static void cancel(CopyIn copy, Exception failure) {
    if (copy.isActive()) {
      try {
        copy.cancelCopy();
      } catch (SQLException | RuntimeException e) {
        failure.addSuppressed(e);
      }
    }
  }

  /** A value's length word; -1 is NULL. */
  /** Starts a value of {@code length} bytes (-1: NULL), with room for its length word and its bytes. */
  private void field(int length) {
    checkState(fieldsLeft > 0, "more values than the row declared");
    fieldsLeft--;
    ensure(4 + Math.max(length, 0));
    putInt(length);
  }

  private void ensure(int more) {
    if (size + more > buffer.length) {
      buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
    }
  }

  private void putShort(int v) {
    buffer[size++] = (byte) (v >>> 8);
    buffer[size++] = (byte) v;
  }

  private void putInt(int v) {
    buffer[size++] = (byte) (v >>> 24);
    buffer[size++] = (byte) (v >>> 16);
    buffer[size++] = (byte) (v >>> 8);
    buffer[size++] = (byte) v;
  }

  private void putLong(long v) {
    putInt((int) (v >>> 32));
    putInt((int) v);
  }
}
