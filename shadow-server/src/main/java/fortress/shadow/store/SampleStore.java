package fortress.shadow.store;

import static com.google.common.base.Preconditions.checkState;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.core.rpc.Rejection;
import fortress.shadow.v1.Dataset;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/**
 * Datasets of labelled samples, appended in batches and read back in id order. A dataset a decoy
 * creates is attacker-supplied from its first batch, for good: the flag is set in the same
 * transaction as the samples, so whoever reads one of them can see it. A dataset anyone else
 * created never takes a decoy's samples, so a decoy cannot taint or poison it.
 */
public final class SampleStore {
  private SampleStore() {}

  /** One stored sample. */
  public record Row(long sampleId, Label label, RequestAttributes attributes) {}

  /**
   * Appends the samples, marking the dataset attacker-supplied if they are; refuses with
   * DATASET_FULL if the dataset would pass {@code samplesMax}. Attacker-supplied samples go only
   * into a dataset this call creates or that is attacker-supplied already
   * (DATASET_NOT_ATTACKER_SUPPLIED otherwise); other samples go into an attacker-supplied dataset
   * only with {@code allowAttackerSupplied} (DATASET_ATTACKER_SUPPLIED otherwise). Returns the
   * dataset as it is now.
   */
  public static Dataset append(Connection c, String dataset, List<Sample> samples, long samplesMax,
      boolean attackerSupplied, boolean allowAttackerSupplied) throws SQLException {
    boolean created;
    try (PreparedStatement create = c.prepareStatement(
        "INSERT INTO datasets (dataset, sample_count) VALUES (?, 0) ON CONFLICT DO NOTHING")) {
      create.setString(1, dataset);
      created = create.executeUpdate() == 1;
    }
    boolean tainted = taintedForUpdate(c, dataset);
    if (attackerSupplied && !created && !tainted) {
      throw new Rejection(ErrorReason.DATASET_NOT_ATTACKER_SUPPLIED, "dataset " + dataset + " was created by a "
          + "caller without the decoy role and holds no attacker-supplied samples; a decoy records only into "
          + "datasets it creates or that are attacker-supplied already", Map.of("dataset", dataset));
    }
    if (!attackerSupplied && tainted && !allowAttackerSupplied) {
      throw new Rejection(ErrorReason.DATASET_ATTACKER_SUPPLIED, "dataset " + dataset + " holds samples from a "
          + "decoy, chosen by an attacker; set allow_attacker_supplied to record into it anyway",
          Map.of("dataset", dataset));
    }
    long before = countForUpdate(c, dataset);
    if (before + samples.size() > samplesMax) {
      throw new Rejection(ErrorReason.DATASET_FULL, "dataset " + dataset + " holds " + before + " samples; "
          + samples.size() + " more would pass the limit of " + samplesMax,
          Map.of("dataset", dataset, "samples_max", Long.toString(samplesMax)));
    }
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO samples (dataset, label, attributes) VALUES (?, ?, ?)")) {
      for (Sample sample : samples) {
        s.setString(1, dataset);
        s.setInt(2, sample.getLabelValue());
        s.setBytes(3, sample.getAttributes().toByteArray());
        s.addBatch();
      }
      s.executeBatch();
    }
    try (PreparedStatement s = c.prepareStatement("""
        UPDATE datasets SET sample_count = ?, attacker_supplied = attacker_supplied OR ? WHERE dataset = ?""")) {
      s.setLong(1, before + samples.size());
      s.setBoolean(2, attackerSupplied);
      s.setString(3, dataset);
      s.executeUpdate();
    }
    Dataset now = get(c, dataset);
    checkState(now.getAttackerSupplied() || !attackerSupplied, "dataset %s took attacker-supplied samples unmarked",
        dataset);
    return now;
  }

  /** The dataset, or DATASET_NOT_FOUND. */
  public static Dataset get(Connection c, String dataset) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "SELECT sample_count, attacker_supplied FROM datasets WHERE dataset = ?")) {
      s.setString(1, dataset);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw new Rejection(ErrorReason.DATASET_NOT_FOUND, "dataset " + dataset + " does not exist; record samples "
              + "into it first", Map.of("dataset", dataset));
        }
        return Dataset.newBuilder().setDataset(dataset).setSampleCount(rs.getLong(1))
            .setAttackerSupplied(rs.getBoolean(2)).build();
      }
    }
  }

  /** Locks the dataset's row until commit and says whether it is attacker-supplied. */
  private static boolean taintedForUpdate(Connection c, String dataset) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "SELECT attacker_supplied FROM datasets WHERE dataset = ? FOR UPDATE")) {
      s.setString(1, dataset);
      try (ResultSet rs = s.executeQuery()) {
        checkState(rs.next(), "dataset %s vanished while its samples were appended", dataset);
        return rs.getBoolean(1);
      }
    }
  }

  private static long countForUpdate(Connection c, String dataset) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "SELECT sample_count FROM datasets WHERE dataset = ? FOR UPDATE")) {
      s.setString(1, dataset);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Up to {@code limit} samples after {@code afterId}, in id order. */
  public static List<Row> page(Connection c, String dataset, long afterId, int limit) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        SELECT sample_id, label, attributes FROM samples
        WHERE dataset = ? AND sample_id > ? ORDER BY sample_id LIMIT ?""")) {
      s.setString(1, dataset);
      s.setLong(2, afterId);
      s.setInt(3, limit);
      List<Row> rows = new java.util.ArrayList<>(limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          rows.add(new Row(rs.getLong(1), Label.forNumber(rs.getInt(2)), RequestAttributes.parseFrom(rs.getBytes(3))));
        }
      } catch (InvalidProtocolBufferException e) {
        throw new SQLException("a stored sample of " + dataset + " does not parse", e);
      }
      return rows;
    }
  }
}
