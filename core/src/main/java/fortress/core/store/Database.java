package fortress.core.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server's PostgreSQL: its Flyway migrations at open, one pool, and transactions that turn a
 * failure of the database into the server's own retryable error (UNAVAILABLE with its domain's
 * reason) rather than anything internal.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  private static final long CONNECTION_TIMEOUT_MS = 5_000;
  /**
   * A server may start before its database does (a pod beside a restarting PostgreSQL, or a
   * database restart under the local cluster). Flyway retries the first connection with a
   * doubling wait, capped at {@link #CONNECT_RETRY_INTERVAL_S}: about a minute in all.
   */
  private static final int CONNECT_RETRIES = 14;
  private static final int CONNECT_RETRY_INTERVAL_S = 5;

  private final HikariDataSource pool;
  private final Supplier<RuntimeException> unavailable;

  /** Work inside one transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private Database(HikariDataSource pool, Supplier<RuntimeException> unavailable) {
    this.pool = pool;
    this.unavailable = unavailable;
  }

  /**
   * Migrates the database with the scripts in {@code classpath:db/<name>} and opens a pool named
   * {@code name}. {@code unavailable} is what a failed transaction throws.
   */
  public static Database open(String name, String jdbcUrl, String user, String password, int poolSizeMax,
      Supplier<RuntimeException> unavailable) {
    migrate(name, jdbcUrl, user, password);
    HikariConfig c = new HikariConfig();
    c.setPoolName(name);
    c.setJdbcUrl(jdbcUrl);
    c.setUsername(user);
    c.setPassword(password);
    c.setMaximumPoolSize(poolSizeMax);
    c.setMinimumIdle(Math.min(poolSizeMax, 2));
    c.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    c.setAutoCommit(false);
    c.addDataSourceProperty("reWriteBatchedInserts", "true");
    return new Database(new HikariDataSource(c), unavailable);
  }

  /**
   * Applies the Flyway migrations in {@code classpath:db/<name>}, waiting about a minute for a
   * database that is not up yet before giving up.
   */
  public static void migrate(String name, String jdbcUrl, String user, String password) {
    Flyway.configure()
        .dataSource(jdbcUrl, user, password)
        .connectRetries(CONNECT_RETRIES)
        .connectRetriesInterval(CONNECT_RETRY_INTERVAL_S)
        .locations("classpath:db/" + name)
        .load()
        .migrate();
  }

  /** Runs {@code work} in a transaction and commits it; anything thrown inside rolls it back. */
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
      throw unavailable.get();
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
