package fortress.shadow.rollout;

import fortress.shadow.store.Database;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.RequestAttributes;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records the requests on which champion and challenger disagreed, off the hot path: Decide
 * offers to a bounded queue and one thread writes batches. When the queue is full the record is
 * dropped and counted (the segment's disagreement count stays exact: it is counted in memory).
 */
public final class Disagreements implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Disagreements.class);
  private static final int BATCH_MAX = 500;

  /** One disagreement. */
  public record Entry(long rolloutId, int segment, String decisionId, String requestKey, RequestAttributes attributes,
      Action champion, Action challenger, Arm arm) {}

  private final Database database;
  private final BlockingQueue<Entry> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final Thread writer;
  private volatile boolean closing;

  public Disagreements(Database database, int queueDepthMax) {
    this.database = database;
    this.queue = new ArrayBlockingQueue<>(queueDepthMax);
    this.writer = new Thread(this::run, "shadow-disagreements");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  public void offer(Entry e) {
    if (!queue.offer(e) && dropped.incrementAndGet() % 10_000 == 1) {
      log.warn("disagreement queue full; {} records dropped so far", dropped.get());
    }
  }

  private void run() {
    List<Entry> batch = new ArrayList<>(BATCH_MAX);
    while (!closing || !queue.isEmpty()) {
      try {
        Entry first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, BATCH_MAX - 1);
        write(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        log.warn("could not record {} disagreements: {}", batch.size(), e.getMessage());
      }
      batch.clear();
    }
  }

  private void write(List<Entry> batch) {
    database.inTransaction(c -> {
      try (PreparedStatement s = c.prepareStatement("""
          INSERT INTO disagreements (rollout_id, segment, decision_id, request_key, attributes, champion_action,
            challenger_action, arm)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)""")) {
        for (Entry e : batch) {
          s.setLong(1, e.rolloutId());
          s.setInt(2, e.segment());
          s.setString(3, e.decisionId());
          s.setString(4, e.requestKey());
          s.setBytes(5, e.attributes().toByteArray());
          s.setInt(6, e.champion().getNumber());
          s.setInt(7, e.challenger().getNumber());
          s.setInt(8, e.arm().getNumber());
          s.addBatch();
        }
        s.executeBatch();
      }
      return null;
    });
  }

  /** Writes what is queued, then stops. */
  @Override
  public void close() {
    closing = true;
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
