package fortress.ledger.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;

/**
 * The node's connection pools: one connection for the single writer, a small pool for reads,
 * so reads never queue behind writes. Migrations run before either is used.
 */
public final class Database implements AutoCloseable {
  private static final long CONNECTION_TIMEOUT_MS = 5_000;

  private final HikariDataSource writer;
  private final HikariDataSource reader;

  private Database(HikariDataSource writer, HikariDataSource reader) {
    this.writer = writer;
    this.reader = reader;
  }

  public static Database open(String jdbcUrl, String user, String password, int readPoolSizeMax) {
    fortress.core.store.Database.migrate("ledger", jdbcUrl, user, password);
    // The writer's statements join arrays of keys against tables that grow from empty. A generic
    // plan cached while a table was small stays a sequential scan as it grows, so the writer's
    // connection plans every statement with its real arguments (force_custom_plan); that costs
    // well under a millisecond per batch.
    HikariDataSource writer = pool("ledger-writer", jdbcUrl, user, password, 1, false);
    HikariDataSource reader = pool("ledger-reader", jdbcUrl, user, password, readPoolSizeMax, true);
    return new Database(writer, reader);
  }

  private static HikariDataSource pool(String name, String url, String user, String password, int size,
      boolean readOnly) {
    HikariConfig c = new HikariConfig();
    c.setPoolName(name);
    c.setJdbcUrl(url);
    c.setUsername(user);
    c.setPassword(password);
    c.setMaximumPoolSize(size);
    c.setMinimumIdle(Math.min(size, 2));
    c.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    c.setReadOnly(readOnly);
    c.setAutoCommit(readOnly);
    c.addDataSourceProperty("reWriteBatchedInserts", "true");
    c.addDataSourceProperty("tcpKeepAlive", "true");
    if (!readOnly) {
      c.addDataSourceProperty("options", "-c plan_cache_mode=force_custom_plan");
    }
    return new HikariDataSource(c);
  }

  public DataSource writer() {
    return writer;
  }

  public DataSource reader() {
    return reader;
  }

  @Override
  public void close() {
    reader.close();
    writer.close();
  }
}
