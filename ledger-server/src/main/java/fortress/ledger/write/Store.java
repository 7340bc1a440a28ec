package fortress.ledger.write;

import java.sql.SQLException;

/**
 * The node's durable state as its single writer sees it: each batch is one transaction that loads
 * the rows its operations read, lets {@link Batch} apply them in memory, writes what changed and
 * commits once. {@link PostgresStore} is the real one; the simulator has one in memory.
 *
 * <p>Failures are SQLExceptions with the SQLSTATE PostgreSQL would give: class 08 (the connection
 * was lost; a commit may or may not have landed), 57 or 53 (the server is going away or out of
 * resources), anything else a refusal of the data, after which nothing of the batch was written.
 */
public interface Store {
  /** Starts the transaction of one batch. */
  Transaction begin() throws SQLException;

  /** One batch's transaction. Closing it without a commit rolls it back. */
  interface Transaction extends AutoCloseable {
    /** The journal head and the last account key, as committed. */
    Batch.Head head() throws SQLException;

    /** Every row the plan names, as committed. */
    Snapshot load(LoadPlan plan) throws SQLException;

    /** Writes everything the batch created or changed. */
    void write(Batch batch) throws SQLException;

    /** Commits; the batch is durable when this returns. */
    void commit() throws SQLException;

    @Override
    void close() throws SQLException;
  }
}
