package fortress.shadow.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import fortress.shadow.Reason;
import fortress.shadow.Rejection;
import java.sql.Connection;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shadow server's PostgreSQL: migrations at open, one pool, and transactions that turn a
 * failure of the database into UNAVAILABLE {@code STORAGE_UNAVAILABLE} (retryable with the same
 * request_id) rather than anything internal.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  private static final long CONNECTION_TIMEOUT_MS = 5_000;

  private final HikariDataSource pool;

  /** Work inside one transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private Database(HikariDataSource pool) {
    this.pool = pool;
  }

  public static Database open(String jdbcUrl, String user, String password, int poolSizeMax) {
    Flyway.configure().dataSource(jdbcUrl, user, password).locations("classpath:db/shadow").load().migrate();
    HikariConfig c = new HikariConfig();
    c.setPoolName("shadow");
    c.setJdbcUrl(jdbcUrl);
    c.setUsername(user);
    c.setPassword(password);
    c.setMaximumPoolSize(poolSizeMax);
    c.setMinimumIdle(Math.min(poolSizeMax, 2));
    c.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    c.setAutoCommit(false);
    c.addDataSourceProperty("reWriteBatchedInserts", "true");
    return new Database(new HikariDataSource(c));
  }

  /** Runs {@code work} in a transaction and commits it; a Rejection thrown inside rolls it back. */
  public <T> T inTransaction(Work<T> work) {
    try (Connection c = pool.getConnection()) {
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      log.warn("database call failed: {}", e.toString());
      throw new Rejection(Reason.STORAGE_UNAVAILABLE, "the shadow database is unavailable; retry with the same "
          + "request_id");
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
