package fortress.decoy.capture;

import static com.google.common.base.Preconditions.checkState;

import com.google.protobuf.CodedOutputStream;
import fortress.core.store.BatchWriter;
import fortress.core.store.Database;
import fortress.decoy.v1.Interaction;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Records every decoy request, each within {@link #INTERACTION_BYTES_MAX}, without slowing the
 * listener: the handler offers the interaction to a queue bounded in records and in bytes, and one
 * thread writes batches. Only a full queue loses records, and those are counted.
 */
public final class Capture implements AutoCloseable {
  private static final int BATCH_MAX = 1_000;
  /**
   * The most one captured request takes, serialized: whatever a client sends, malformed or not,
   * its record is at most this (the export's sample cap is the same). The fields' own caps below
   * bind first for any request a stock nginx takes whole but the largest.
   */
  public static final int INTERACTION_BYTES_MAX = 32 * 1024;
  /**
   * The most that captured requests waiting to be written may take, so a stalled database and a
   * flood of the largest requests cannot exhaust memory; past it requests are dropped and counted.
   * A batch being written (at most BATCH_MAX records) comes on top.
   */
  public static final long QUEUED_BYTES_MAX = 64L * 1024 * 1024;
  public static final int METHOD_LENGTH_MAX = 32;
  public static final int PATH_LENGTH_MAX = 2048;
  public static final int HEADERS_MAX = 32;
  public static final int HEADER_NAME_LENGTH_MAX = 128;
  public static final int HEADER_VALUE_LENGTH_MAX = 512;

  private final BatchWriter<Interaction> writer;
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong droppedForBytes = new AtomicLong();
  /** The first record of the batch last taken off the queue (writer thread only): a retry passes the same. */
  private Interaction batchFirst;

  public Capture(Database database, int queueDepthMax) {
    this.writer = new BatchWriter<>("decoy-interactions", database, queueDepthMax, BATCH_MAX, this::write);
  }

  public void record(Interaction interaction) {
    int size = interaction.getSerializedSize();
    if (queuedBytes.addAndGet(size) > QUEUED_BYTES_MAX) {
      queuedBytes.addAndGet(-size);
      droppedForBytes.incrementAndGet();
      return;
    }
    if (!writer.offer(interaction)) {
      queuedBytes.addAndGet(-size);
    }
  }

  private void write(Connection c, List<Interaction> batch) throws SQLException {
    if (batch.get(0) != batchFirst) {
      batchFirst = batch.get(0);
      queuedBytes.addAndGet(-batch.stream().mapToLong(Interaction::getSerializedSize).sum());
    }
    InteractionStore.append(c, batch);
  }

  /**
   * The record of a request, within {@link #INTERACTION_BYTES_MAX}: method, path and query cut to
   * their maximum, then headers in the order they came (the first of a repeated name wins), by
   * lower-case name, while they fit. Text is kept as it arrived, a char per byte (ISO-8859-1),
   * so no byte is lost: a reader re-decodes what was UTF-8.
   */
  public static Interaction bounded(Interaction.Builder b, List<String[]> headers) {
    b.setMethod(text(b.getMethod(), METHOD_LENGTH_MAX))
        .setPath(text(b.getPath(), PATH_LENGTH_MAX))
        .setQuery(text(b.getQuery(), PATH_LENGTH_MAX))
        .clearHeaders();
    int size = b.build().getSerializedSize();
    for (String[] h : headers) {
      if (b.getHeadersCount() >= HEADERS_MAX) {
        break;
      }
      String name = text(h[0].toLowerCase(Locale.ROOT), HEADER_NAME_LENGTH_MAX);
      String value = text(h[1], HEADER_VALUE_LENGTH_MAX);
      if (b.containsHeaders(name)) {
        continue;
      }
      int entry = CodedOutputStream.computeStringSize(1, name) + CodedOutputStream.computeStringSize(2, value);
      int cost = CodedOutputStream.computeTagSize(7) + CodedOutputStream.computeUInt32SizeNoTag(entry) + entry;
      if (size + cost > INTERACTION_BYTES_MAX) {
        break;
      }
      b.putHeaders(name, value);
      size += cost;
    }
    Interaction interaction = b.build();
    checkState(interaction.getSerializedSize() <= INTERACTION_BYTES_MAX, "a captured request takes %s bytes",
        interaction.getSerializedSize());
    return interaction;
  }

  /** At most {@code max} chars, never ending inside a surrogate pair. */
  private static String text(String s, int max) {
    String cut = s.length() <= max ? s : s.substring(0, max);
    return !cut.isEmpty() && Character.isHighSurrogate(cut.charAt(cut.length() - 1))
        ? cut.substring(0, cut.length() - 1) : cut;
  }

  /** Interactions dropped because the queue was full, by count or by bytes. */
  public long dropped() {
    return writer.dropped() + droppedForBytes.get();
  }

  /** Interactions written so far. */
  public long written() {
    return writer.written();
  }

  @Override
  public void close() {
    writer.close();
  }
}
