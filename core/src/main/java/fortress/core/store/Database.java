package fortress.core.store;

import com.google.protobuf.ProtocolMessageEnum;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import fortress.core.rpc.Rejection;
import java.sql.Connection;
import java.sql.SQLException;
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
  private final String name;
  private final ProtocolMessageEnum unavailable;
  private final ProtocolMessageEnum outcomeUnknown;

  /** Work inside one transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private Database(HikariDataSource pool, String name, ProtocolMessageEnum unavailable,
      ProtocolMessageEnum outcomeUnknown) {
    this.pool = pool;
    this.name = name;
    this.unavailable = unavailable;
    this.outcomeUnknown = outcomeUnknown;
  }

  /**
   * Migrates the database with the scripts in {@code classpath:db/<name>} and opens a pool named
   * {@code name}. A failed transaction is rejected with the server's reason {@code unavailable}
   * (nothing was written), or {@code outcomeUnknown} when the connection was lost during COMMIT.
   */
  public static Database open(String name, String jdbcUrl, String user, String password, int poolSizeMax,
      ProtocolMessageEnum unavailable, ProtocolMessageEnum outcomeUnknown) {
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
    return new Database(new HikariDataSource(c), name, unavailable, outcomeUnknown);
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

  /**
   * Runs {@code work} in a transaction and commits it; anything thrown inside rolls it back. A
   * failure is rejected with the server's {@code unavailable} reason (nothing was written), or
   * {@code outcomeUnknown} when COMMIT failed without PostgreSQL's answer.
   */
  public <T> T inTransaction(Work<T> work) {
    Connection c;
    try {
      c = pool.getConnection();
    } catch (SQLException e) {
      throw unavailable(e);
    }
    T result;
    try {
      result = work.run(c);
    } catch (SQLException | RuntimeException e) {
      rollBackAndClose(c, e);
      throw e instanceof SQLException sql ? unavailable(sql) : (RuntimeException) e;
    }
    try {
      c.commit();
    } catch (SQLException | RuntimeException e) {
      log.warn("database commit failed: {}", e.toString());
      rollBackAndClose(c, e);
      if (e instanceof SQLException sql && !connectionLost(sql)) {
        throw unavailable(sql); // PostgreSQL answered the COMMIT with an error: it rolled back
      }
      throw new Rejection(outcomeUnknown, "the " + name + " database was lost while the write committed; send "
          + "the request again with the same request_id to learn its outcome");
    }
    try {
      c.close();
    } catch (SQLException e) {
      log.warn("closing a committed transaction's connection failed; the write stands: {}", e.toString());
    }
    return result;
  }

  /**
   * Whether a failed COMMIT may have been durable: PostgreSQL's answer did not arrive (connection
   * classes 08 and 57, or no SQLState at all, as the driver reports an I/O failure).
   */
  public static boolean connectionLost(SQLException e) {
    String state = e.getSQLState();
    return state == null || state.startsWith("08") || state.startsWith("57");
  }

  private Rejection unavailable(SQLException e) {
    log.warn("database call failed: {}", e.toString());
    return new Rejection(unavailable, "the " + name + " database is unavailable; nothing was written, retry");
  }

  private static void rollBackAndClose(Connection c, Exception failure) {
    try (c) {
      c.rollback();
    } catch (SQLException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
