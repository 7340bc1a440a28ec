package fortress.ledger.write;

import java.sql.SQLException;

/** A store transaction that forwards every call to another; tests override the calls they fault or watch. */
public class ForwardingTransaction implements Store.Transaction {
  private final Store.Transaction delegate;

  public ForwardingTransaction(Store.Transaction delegate) {
    this.delegate = delegate;
  }

  @Override
  public Batch.Head head() throws SQLException {
    return delegate.head();
  }

  @Override
  public Snapshot load(LoadPlan plan) throws SQLException {
    return delegate.load(plan);
  }

  @Override
  public void write(Batch batch) throws SQLException {
    delegate.write(batch);
  }

  @Override
  public void commit() throws SQLException {
    delegate.commit();
  }

  @Override
  public void close() throws SQLException {
    delegate.close();
  }
}
