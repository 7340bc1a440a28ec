package fortress.ledger.store;

import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The {@link Records} reads as futures, each run on the given executor: on the calling thread in a
 * server (reads never wait for the writer), as a scheduled event in the simulator, so a write can
 * land between two reads exactly as it can between two statements.
 */
public final class Reads {
  /** One read. */
  @FunctionalInterface
  public interface Read<T> {
    T run(Records records) throws SQLException;
  }

  private final Records records;
  private final Executor executor;

  public Reads(Records records, Executor executor) {
    this.records = records;
    this.executor = executor;
  }

  /** Runs the read; a failure completes the future with the SQLException (wrapped). */
  public <T> CompletableFuture<T> run(Read<T> read) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return read.run(records);
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, executor);
  }
}
