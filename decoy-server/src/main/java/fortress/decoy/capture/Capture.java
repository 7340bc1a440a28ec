package fortress.decoy.capture;

import fortress.core.store.BatchWriter;
import fortress.core.store.Database;
import fortress.decoy.v1.Interaction;

/**
 * Records every decoy request without slowing the listener: the handler offers the interaction
 * to a bounded queue and one thread writes batches. Only a full queue loses records, and those
 * are counted.
 */
public final class Capture implements AutoCloseable {
  private static final int BATCH_MAX = 1_000;

  private final BatchWriter<Interaction> writer;

  public Capture(Database database, int queueDepthMax) {
    this.writer = new BatchWriter<>("decoy-interactions", database, queueDepthMax, BATCH_MAX,
        InteractionStore::append);
  }

  public void record(Interaction interaction) {
    writer.offer(interaction);
  }

  /** Interactions dropped because the queue was full. */
  public long dropped() {
    return writer.dropped();
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
