package fortress.ledger.store;

import fortress.shard.v1.Decision;
import java.sql.SQLException;
import java.util.List;

/**
 * The reads that two-phase commit and GetOperation decide from, each one statement and so one
 * snapshot of the node's database. {@link TwoPhaseReader} is the real one; the simulator has one
 * in memory.
 */
public interface Records {
  /** What this node, as coordinator, decided; DECISION_UNKNOWN if it never heard of the txid. */
  Decision decision(String txid) throws SQLException;

  /**
   * A mutation's outcome by its request_id, scoped to {@code accountId}, or when that is null to
   * the account of the tenant's hold {@code holdId}: its record, or the undecided cross-node
   * transfer using it, or neither, all read in one snapshot. With neither scope (clients written
   * before it), on any account of the tenant: the one record or undecided transfer there is, or
   * {@link Lookup.Ambiguous} when there are several.
   */
  Lookup lookUp(String tenantId, String accountId, String holdId, String requestId) throws SQLException;

  /**
   * Up to {@code limit} unfinished transactions of one kind whose clock (creation, or decision for
   * {@link Pending.Kind#COMMITTED}) is before {@code beforeMicros}, after {@code after} in
   * (clock, txid) order, so a recovery that pages through them reaches every one.
   */
  List<Pending> pending(Pending.Kind kind, Pending.Cursor after, long beforeMicros, int limit) throws SQLException;

  /**
   * How many unfinished transactions of each kind there are, how many committed ones were decided
   * before {@code overdueMicros} (overdue), and since when the oldest waits.
   */
  Backlog backlog(long overdueMicros) throws SQLException;

  /** Unfinished transactions on this node, either role, with the oldest one's start (0 if none). */
  record Backlog(long preparing, long committed, long prepared, long overdue, long oldestMicros) {
    public long total() {
      return preparing + committed + prepared;
    }
  }
}
