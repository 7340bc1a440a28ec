package fortress.shadow.store;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.core.rpc.Rejection;
import fortress.core.store.Rows;
import fortress.shadow.rollout.DecisionCounts;
import fortress.shadow.rollout.DecisionIds;
import fortress.shadow.rollout.StageJudge;
import fortress.shadow.rollout.TenantEvidence;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.Rollout;
import fortress.shadow.v1.RolloutState;
import fortress.shadow.v1.RolloutThresholds;
import fortress.shadow.v1.RuleRef;
import fortress.shadow.v1.Stage;
import fortress.shadow.v1.StageOutcome;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Rollouts, their segments (one per stage attempt), and the outcomes reported against them. */
public final class RolloutStore {
  private static final String PREFIX = "ro-";

  private RolloutStore() {}

  /** A rollout's row and its current segment. */
  public record Row(long id, RuleRef rule, String championVersion, String evaluationId, List<Integer> stages,
      RolloutThresholds thresholds, RolloutState state, int segment, int stageIndex, int percent) {
    public String rolloutId() {
      return PREFIX + id;
    }

    public boolean active() {
      return state == RolloutState.ROLLOUT_STATE_RUNNING || state == RolloutState.ROLLOUT_STATE_PAUSED;
    }
  }

  public static String format(long id) {
    return PREFIX + id;
  }

  /** The rollout's number from its id, or ROLLOUT_NOT_FOUND. */
  public static long parse(String rolloutId) {
    return Rows.number(PREFIX, rolloutId).orElseThrow(() -> notFound(rolloutId));
  }

  /** Creates a RUNNING rollout at its first stage; the partial unique index refuses a second active one. */
  public static Row create(Connection c, RuleRef rule, String championVersion, String evaluationId,
      List<Integer> stages, RolloutThresholds thresholds) throws SQLException {
    long id;
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO rollouts (rule_id, version, champion_version, evaluation_id, stages, thresholds, state)
        VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING rollout_id""")) {
      s.setString(1, rule.getRuleId());
      s.setString(2, rule.getVersion());
      s.setString(3, championVersion);
      s.setString(4, evaluationId);
      s.setArray(5, c.createArrayOf("int4", stages.toArray()));
      s.setBytes(6, thresholds.toByteArray());
      s.setInt(7, RolloutState.ROLLOUT_STATE_RUNNING_VALUE);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        id = rs.getLong(1);
      }
    }
    startSegment(c, id, 1, 0, stages.get(0));
    return get(c, id);
  }

  /** The running or paused rollout, if any. */
  public static Optional<Row> active(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT rollout_id FROM rollouts WHERE state IN (1, 2)");
         ResultSet rs = s.executeQuery()) {
      return rs.next() ? Optional.of(get(c, rs.getLong(1))) : Optional.empty();
    }
  }

  /** The rollout and its current segment, or ROLLOUT_NOT_FOUND. */
  public static Row get(Connection c, long id) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        SELECT r.*, g.segment, g.stage_index, g.percent FROM rollouts r
        JOIN rollout_segments g ON g.rollout_id = r.rollout_id
        WHERE r.rollout_id = ? ORDER BY g.segment DESC LIMIT 1""")) {
      s.setLong(1, id);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw notFound(format(id));
        }
        return new Row(id,
            RuleRef.newBuilder().setRuleId(rs.getString("rule_id")).setVersion(rs.getString("version")).build(),
            rs.getString("champion_version"), rs.getString("evaluation_id"),
            Arrays.asList((Integer[]) rs.getArray("stages").getArray()),
            RolloutThresholds.parseFrom(rs.getBytes("thresholds")),
            RolloutState.forNumber(rs.getInt("state")), rs.getInt("segment"), rs.getInt("stage_index"),
            rs.getInt("percent"));
      } catch (InvalidProtocolBufferException e) {
        throw new SQLException("stored thresholds of rollout " + id + " do not parse", e);
      }
    }
  }

  public static void setState(Connection c, long id, RolloutState state) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "UPDATE rollouts SET state = ?, update_time = now() WHERE rollout_id = ?")) {
      s.setInt(1, state.getNumber());
      s.setLong(2, id);
      s.executeUpdate();
    }
  }

  public static void startSegment(Connection c, long id, int segment, int stageIndex, int percent)
      throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO rollout_segments (rollout_id, segment, stage_index, percent) VALUES (?, ?, ?, ?)""")) {
      s.setLong(1, id);
      s.setInt(2, segment);
      s.setInt(3, stageIndex);
      s.setInt(4, percent);
      s.executeUpdate();
    }
    try (PreparedStatement s = c.prepareStatement("UPDATE rollouts SET update_time = now() WHERE rollout_id = ?")) {
      s.setLong(1, id);
      s.executeUpdate();
    }
  }

  /** Records how a segment ended, or (with UNSPECIFIED) why it is still waiting. */
  public static void judge(Connection c, long id, int segment, StageOutcome outcome, List<String> reasons)
      throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        UPDATE rollout_segments SET outcome = ?, reasons = ?,
          end_time = CASE WHEN ? = 0 THEN NULL ELSE now() END
        WHERE rollout_id = ? AND segment = ?""")) {
      s.setInt(1, outcome.getNumber());
      s.setArray(2, c.createArrayOf("text", reasons.toArray()));
      s.setInt(3, outcome.getNumber());
      s.setLong(4, id);
      s.setInt(5, segment);
      s.executeUpdate();
    }
  }

  /** Adds counted decisions to their segments. */
  public static void addDecisions(Connection c, Map<DecisionCounts.Segment, DecisionCounts.Delta> deltas)
      throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        UPDATE rollout_segments SET decisions_champion = decisions_champion + ?,
          decisions_challenger = decisions_challenger + ?, disagreements = disagreements + ?
        WHERE rollout_id = ? AND segment = ?""")) {
      for (Map.Entry<DecisionCounts.Segment, DecisionCounts.Delta> e : deltas.entrySet()) {
        s.setLong(1, e.getValue().champion());
        s.setLong(2, e.getValue().challenger());
        s.setLong(3, e.getValue().disagreements());
        s.setLong(4, e.getKey().rolloutId());
        s.setInt(5, e.getKey().segment());
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  /**
   * Stores an outcome with the tenant of the caller the decision was issued to; false when the
   * decision already has one.
   */
  public static boolean addOutcome(Connection c, String decisionId, DecisionIds.Decision d, String tenant, Label label,
      boolean error, long latencyMs) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO outcomes (decision_id, rollout_id, segment, arm, champion_flagged, challenger_flagged, label,
          error, latency_ms, tenant)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (decision_id) DO NOTHING""")) {
      s.setString(1, decisionId);
      s.setLong(2, d.rolloutId());
      s.setInt(3, d.segment());
      s.setInt(4, d.arm().getNumber());
      s.setBoolean(5, d.championFlagged());
      s.setBoolean(6, d.challengerFlagged());
      s.setInt(7, label.getNumber());
      s.setBoolean(8, error);
      s.setLong(9, latencyMs);
      s.setString(10, tenant);
      return s.executeUpdate() == 1;
    }
  }

  /** Every segment of a rollout as a Stage, with both arms' numbers, each tenant weighed to {@code share}. */
  public static List<Stage> stages(Connection c, long id, double share) throws SQLException {
    List<Stage> out = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(
        "SELECT * FROM rollout_segments WHERE rollout_id = ? ORDER BY segment")) {
      s.setLong(1, id);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          int segment = rs.getInt("segment");
          Array reasons = rs.getArray("reasons");
          out.add(Stage.newBuilder()
              .setStageIndex(rs.getInt("stage_index"))
              .setPercent(rs.getInt("percent"))
              .setChampion(arm(c, id, segment, Arm.ARM_CHAMPION, rs.getLong("decisions_champion")).stats(share))
              .setChallenger(arm(c, id, segment, Arm.ARM_CHALLENGER, rs.getLong("decisions_challenger"))
                  .stats(share))
              .setDisagreements(rs.getLong("disagreements"))
              .setSampleRatioPValue(StageJudge.sampleRatioP(rs.getLong("decisions_champion"),
                  rs.getLong("decisions_challenger"), rs.getInt("percent")))
              .setOutcome(StageOutcome.forNumber(rs.getInt("outcome")))
              .addAllReasons(Arrays.asList((String[]) reasons.getArray()))
              .setStartTime(Rows.timestamp(rs, "start_time"))
              .setEndTime(Rows.timestamp(rs, "end_time"))
              .build());
        }
      }
    }
    return out;
  }

  /**
   * One arm's outcome numbers in one segment, by the tenant of the caller each decision was issued
   * to: a rollout covers every tenant, so the judge weighs each tenant's share (see
   * {@link TenantEvidence}).
   */
  public static TenantEvidence.Arm arm(Connection c, long id, int segment, Arm arm, long decisions)
      throws SQLException {
    String flagged = arm == Arm.ARM_CHALLENGER ? "challenger_flagged" : "champion_flagged";
    try (PreparedStatement s = c.prepareStatement("SELECT tenant, count(*),"
        + " count(*) FILTER (WHERE label = 1), count(*) FILTER (WHERE label = 1 AND " + flagged + "),"
        + " count(*) FILTER (WHERE label = 2), count(*) FILTER (WHERE label = 2 AND " + flagged + "),"
        + " count(*) FILTER (WHERE error), coalesce(sum(latency_ms), 0)"
        + " FROM outcomes WHERE rollout_id = ? AND segment = ? AND arm = ? GROUP BY tenant ORDER BY tenant")) {
      s.setLong(1, id);
      s.setInt(2, segment);
      s.setInt(3, arm.getNumber());
      List<TenantEvidence.Counts> tenants = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          tenants.add(new TenantEvidence.Counts(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
              rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8)));
        }
      }
      return new TenantEvidence.Arm(decisions, tenants);
    }
  }

  /** The whole rollout as the API shows it. */
  public static Rollout describe(Connection c, long id) throws SQLException {
    Row row = get(c, id);
    Rollout.Builder r = Rollout.newBuilder()
        .setRolloutId(row.rolloutId())
        .setRule(row.rule())
        .setChampionVersion(row.championVersion())
        .setEvaluationId(row.evaluationId())
        .addAllStages(row.stages())
        .setThresholds(row.thresholds())
        .setState(row.state())
        .addAllHistory(stages(c, id, TenantEvidence.share(row.thresholds())));
    try (PreparedStatement s = c.prepareStatement(
        "SELECT create_time, update_time FROM rollouts WHERE rollout_id = ?")) {
      s.setLong(1, id);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        r.setCreateTime(Rows.timestamp(rs, "create_time")).setUpdateTime(Rows.timestamp(rs, "update_time"));
      }
    }
    return r.build();
  }

  private static Rejection notFound(String rolloutId) {
    return new Rejection(ErrorReason.ROLLOUT_NOT_FOUND, "rollout " + rolloutId + " does not exist",
        Map.of("rollout_id", rolloutId));
  }
}
