package fortress.shadow.rollout;

import fortress.core.store.BatchWriter;
import fortress.core.store.Database;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.RequestAttributes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * Records the requests on which champion and challenger disagreed, off the hot path: Decide
 * offers to a bounded queue and one thread writes batches. When the queue is full the record is
 * dropped and counted (the segment's disagreement count stays exact: it is counted in memory).
 */
public final class Disagreements implements AutoCloseable {
  private static final int BATCH_MAX = 500;

  /** One disagreement; {@code tenant} is the tenant of the caller the decision was issued to. */
  public record Entry(long rolloutId, int segment, String decisionId, String tenant, String requestKey,
      RequestAttributes attributes, Action champion, Action challenger, Arm arm) {}

  private final BatchWriter<Entry> writer;

  public Disagreements(Database database, int queueDepthMax) {
    this.writer = new BatchWriter<>("shadow-disagreements", database, queueDepthMax, BATCH_MAX,
        Disagreements::write);
  }

  public void offer(Entry e) {
    writer.offer(e);
  }

  private static void write(Connection c, List<Entry> batch) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO disagreements (rollout_id, segment, decision_id, request_key, attributes, champion_action,
          challenger_action, arm, tenant)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
      for (Entry e : batch) {
        s.setLong(1, e.rolloutId());
        s.setInt(2, e.segment());
        s.setString(3, e.decisionId());
        s.setString(4, e.requestKey());
        s.setBytes(5, e.attributes().toByteArray());
        s.setInt(6, e.champion().getNumber());
        s.setInt(7, e.challenger().getNumber());
        s.setInt(8, e.arm().getNumber());
        s.setString(9, e.tenant());
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  /** Writes what is queued, then stops. */
  @Override
  public void close() {
    writer.close();
  }
}
