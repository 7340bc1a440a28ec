package fortress.shadow.store;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.core.rpc.Rejection;
import fortress.core.store.Rows;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Evaluation;
import fortress.shadow.v1.EvaluationResult;
import fortress.shadow.v1.EvaluationState;
import fortress.shadow.v1.RuleRef;
import fortress.shadow.v1.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Evaluation jobs: what was asked (the spec), how far they are, and their results. */
public final class EvaluationStore {
  private static final String PREFIX = "ev-";

  private EvaluationStore() {}

  /** Stores a new RUNNING job from its spec and returns it with its id. */
  public static Evaluation create(Connection c, Evaluation spec) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO evaluations (state, spec, challenger_rule_id, challenger_version, samples_total)
        VALUES (?, ?, ?, ?, ?) RETURNING evaluation_id""")) {
      s.setInt(1, EvaluationState.EVALUATION_STATE_RUNNING_VALUE);
      s.setBytes(2, spec.toByteArray());
      s.setString(3, spec.getChallenger().getRuleId());
      s.setString(4, spec.getChallenger().getVersion());
      s.setLong(5, spec.getSamplesTotal());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return get(c, PREFIX + rs.getLong(1));
      }
    }
  }

  /**
   * Records a running job's progress. The commit does not wait for the disk: progress lost in a
   * crash costs nothing, since an unfinished job is run again from the start.
   */
  public static void progress(Connection c, String id, long done) throws SQLException {
    try (Statement local = c.createStatement()) {
      local.execute("SET LOCAL synchronous_commit = off");
    }
    try (PreparedStatement s = c.prepareStatement("UPDATE evaluations SET samples_done = ? WHERE evaluation_id = ?")) {
      s.setLong(1, done);
      s.setLong(2, number(id));
      s.executeUpdate();
    }
  }

  public static void finish(Connection c, String id, long done, EvaluationResult result) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        UPDATE evaluations SET state = ?, samples_done = ?, samples_total = ?, verdict = ?, result = ?,
          complete_time = now()
        WHERE evaluation_id = ?""")) {
      s.setInt(1, EvaluationState.EVALUATION_STATE_SUCCEEDED_VALUE);
      s.setLong(2, done);
      s.setLong(3, done);
      s.setInt(4, result.getVerdictValue());
      s.setBytes(5, result.toByteArray());
      s.setLong(6, number(id));
      s.executeUpdate();
    }
  }

  public static void fail(Connection c, String id, String error) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        UPDATE evaluations SET state = ?, error = ?, complete_time = now() WHERE evaluation_id = ?""")) {
      s.setInt(1, EvaluationState.EVALUATION_STATE_FAILED_VALUE);
      s.setString(2, error);
      s.setLong(3, number(id));
      s.executeUpdate();
    }
  }

  /** The job, or EVALUATION_NOT_FOUND. */
  public static Evaluation get(Connection c, String id) throws SQLException {
    long number = number(id);
    try (PreparedStatement s = c.prepareStatement("SELECT * FROM evaluations WHERE evaluation_id = ?")) {
      s.setLong(1, number);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw notFound(id);
        }
        Evaluation.Builder e = Evaluation.parseFrom(rs.getBytes("spec")).toBuilder()
            .setEvaluationId(id)
            .setState(EvaluationState.forNumber(rs.getInt("state")))
            .setSamplesTotal(rs.getLong("samples_total"))
            .setSamplesDone(rs.getLong("samples_done"))
            .setCreateTime(Rows.timestamp(rs, "create_time"))
            .setCompleteTime(Rows.timestamp(rs, "complete_time"));
        byte[] result = rs.getBytes("result");
        if (result != null) {
          e.setResult(EvaluationResult.parseFrom(result));
        }
        if (rs.getString("error") != null) {
          e.setError(rs.getString("error"));
        }
        return e.build();
      } catch (InvalidProtocolBufferException e) {
        throw new SQLException("stored evaluation " + id + " does not parse", e);
      }
    }
  }

  /** The first evaluation that passed exactly this version, if any. */
  public static Optional<String> passed(Connection c, RuleRef rule) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        SELECT evaluation_id FROM evaluations
        WHERE challenger_rule_id = ? AND challenger_version = ? AND verdict = ?
        ORDER BY evaluation_id LIMIT 1""")) {
      s.setString(1, rule.getRuleId());
      s.setString(2, rule.getVersion());
      s.setInt(3, Verdict.VERDICT_PASS_VALUE);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? Optional.of(PREFIX + rs.getLong(1)) : Optional.empty();
      }
    }
  }

  /** Jobs left RUNNING, e.g. by a restart; they are run again from the start. */
  public static List<String> running(Connection c) throws SQLException {
    List<String> ids = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(
        "SELECT evaluation_id FROM evaluations WHERE state = ? ORDER BY evaluation_id")) {
      s.setInt(1, EvaluationState.EVALUATION_STATE_RUNNING_VALUE);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          ids.add(PREFIX + rs.getLong(1));
        }
      }
    }
    return ids;
  }

  private static long number(String id) {
    return Rows.number(PREFIX, id).orElseThrow(() -> notFound(id));
  }

  private static Rejection notFound(String id) {
    return new Rejection(ErrorReason.EVALUATION_NOT_FOUND, "evaluation " + id + " does not exist",
        Map.of("evaluation_id", id));
  }
}
