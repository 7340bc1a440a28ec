package fortress.core.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes records off the hot path: callers offer to a bounded queue and never wait; one thread
 * writes what has queued in batches of up to {@code batchMax}, one transaction each. When the queue
 * is full a record is dropped and counted. A batch that fails (the database is down) is retried
 * every second until it is written or the writer closes, so records are lost only to a full queue.
 */
public final class BatchWriter<T> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchWriter.class);
  private static final long RETRY_MS = 1_000;

  /** Writes one batch inside the given transaction. */
  @FunctionalInterface
  public interface Write<T> {
    void write(Connection c, List<T> batch) throws SQLException;
  }

  private final String name;
  private final Database database;
  private final BlockingQueue<T> queue;
  private final int batchMax;
  private final Write<T> write;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final Thread writer;
  private volatile boolean closing;

  public BatchWriter(String name, Database database, int queueDepthMax, int batchMax, Write<T> write) {
    this.name = name;
    this.database = database;
    this.queue = new ArrayBlockingQueue<>(queueDepthMax);
    this.batchMax = batchMax;
    this.write = write;
    this.writer = new Thread(this::run, name + "-writer");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  /** Queues a record; false (and counted) when the queue is full. */
  public boolean offer(T record) {
    if (queue.offer(record)) {
      return true;
    }
    if (dropped.incrementAndGet() % 10_000 == 1) {
      log.warn("{} queue full; {} records dropped so far", name, dropped.get());
    }
    return false;
  }

  public long dropped() {
    return dropped.get();
  }

  /** Records written and committed so far. */
  public long written() {
    return written.get();
  }

  private void run() {
    List<T> batch = new ArrayList<>(batchMax);
    while (!closing || !queue.isEmpty()) {
      try {
        T first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, batchMax - 1);
        writeWithRetry(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      batch.clear();
    }
  }

  private void writeWithRetry(List<T> batch) throws InterruptedException {
    while (true) {
      try {
        database.inTransaction(c -> {
          write.write(c, batch);
          return null;
        });
        written.addAndGet(batch.size());
        return;
      } catch (RuntimeException e) {
        if (closing) {
          log.warn("{}: {} records not written at shutdown: {}", name, batch.size(), e.getMessage());
          return;
        }
        log.warn("{}: could not write {} records, retrying: {}", name, batch.size(), e.getMessage());
        Thread.sleep(RETRY_MS);
      }
    }
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
