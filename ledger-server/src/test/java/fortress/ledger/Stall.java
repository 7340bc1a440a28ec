package fortress.ledger;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A stalled ledger database, as a slow disk or a blocked backend looks to the node: an open
 * transaction holds an exclusive lock on the account table, so the node's writer waits at its
 * next batch (its reads of other tables go on). Closing it lets the writer through.
 */
public final class Stall implements AutoCloseable {
  private final Connection connection;

  private Stall(Connection connection) {
    this.connection = connection;
  }

  public static Stall of(TestNode node) throws SQLException {
    Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("LOCK TABLE account IN ACCESS EXCLUSIVE MODE");
    }
    return new Stall(c);
  }

  @Override
  public void close() throws SQLException {
    try {
      connection.rollback();
    } finally {
      connection.close();
    }
  }
}
