package fortress.shadow.store;

import fortress.core.store.Rows;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.common.io.BaseEncoding;
import fortress.shadow.v1.Deployment;
import fortress.shadow.v1.DeploymentKind;
import fortress.shadow.v1.RuleRef;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * The deployment audit log: append-only, each entry hashing the previous entry's hash and its own
 * fields, so changing, removing or reordering any entry breaks every hash after it.
 */
public final class AuditLog {
  private static final byte[] GENESIS = new byte[32];

  private AuditLog() {}

  /** What the whole chain looks like when walked: its length and the first entry that does not hash. */
  public record Verification(long length, long firstBrokenSequence) {
    public boolean verified() {
      return firstBrokenSequence == 0;
    }
  }

  /** Appends an entry in the caller's transaction; entries are serialized by a table lock. */
  public static Deployment append(Connection c, DeploymentKind kind, RuleRef rule, String previousVersion,
      String evaluationId, String rolloutId, String reason) throws SQLException {
    try (PreparedStatement lock = c.prepareStatement("LOCK TABLE deployments IN EXCLUSIVE MODE")) {
      lock.execute();
    }
    long sequence = 1;
    byte[] previousHash = GENESIS;
    try (PreparedStatement last = c.prepareStatement(
        "SELECT sequence, hash FROM deployments ORDER BY sequence DESC LIMIT 1");
         ResultSet rs = last.executeQuery()) {
      if (rs.next()) {
        sequence = rs.getLong(1) + 1;
        previousHash = rs.getBytes(2);
      }
    }
    OffsetDateTime now = Rows.now();
    Entry entry = new Entry(sequence, kind.getNumber(), rule.getRuleId(), rule.getVersion(), previousVersion,
        evaluationId, rolloutId, reason, now, previousHash);
    byte[] hash = entry.hash();
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO deployments (sequence, kind, rule_id, version, previous_version, evaluation_id, rollout_id,
          reason, create_time, previous_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
      s.setLong(1, sequence);
      s.setInt(2, kind.getNumber());
      s.setString(3, rule.getRuleId());
      s.setString(4, rule.getVersion());
      s.setString(5, previousVersion);
      s.setString(6, evaluationId);
      s.setString(7, rolloutId);
      s.setString(8, reason);
      s.setObject(9, now);
      s.setBytes(10, previousHash);
      s.setBytes(11, hash);
      s.executeUpdate();
    }
    return list(c, sequence - 1, 1).get(0);
  }

  /** Up to {@code limit} entries after {@code afterSequence}, oldest first. */
  public static List<Deployment> list(Connection c, long afterSequence, int limit) throws SQLException {
    List<Deployment> out = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(
        "SELECT * FROM deployments WHERE sequence > ? ORDER BY sequence LIMIT ?")) {
      s.setLong(1, afterSequence);
      s.setInt(2, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(Deployment.newBuilder()
              .setSequence(rs.getLong("sequence"))
              .setKind(DeploymentKind.forNumber(rs.getInt("kind")))
              .setRule(RuleRef.newBuilder().setRuleId(rs.getString("rule_id")).setVersion(rs.getString("version")))
              .setPreviousVersion(rs.getString("previous_version"))
              .setEvaluationId(rs.getString("evaluation_id"))
              .setRolloutId(rs.getString("rollout_id"))
              .setReason(rs.getString("reason"))
              .setCreateTime(Rows.timestamp(rs, "create_time"))
              .setPreviousHash(BaseEncoding.base16().lowerCase().encode(rs.getBytes("previous_hash")))
              .setHash(BaseEncoding.base16().lowerCase().encode(rs.getBytes("hash")))
              .build());
        }
      }
    }
    return out;
  }

  /** Walks the whole chain from the first entry, recomputing every hash. */
  public static Verification verify(Connection c) throws SQLException {
    long length = 0;
    byte[] previous = GENESIS;
    try (PreparedStatement s = c.prepareStatement("SELECT * FROM deployments ORDER BY sequence")) {
      s.setFetchSize(1_000);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          length++;
          Entry entry = new Entry(rs.getLong("sequence"), rs.getInt("kind"), rs.getString("rule_id"),
              rs.getString("version"), rs.getString("previous_version"), rs.getString("evaluation_id"),
              rs.getString("rollout_id"), rs.getString("reason"), rs.getObject("create_time", OffsetDateTime.class),
              rs.getBytes("previous_hash"));
          if (entry.sequence() != length || !java.util.Arrays.equals(entry.previousHash(), previous)
              || !java.util.Arrays.equals(entry.hash(), rs.getBytes("hash"))) {
            return new Verification(countAll(c), entry.sequence());
          }
          previous = rs.getBytes("hash");
        }
      }
    }
    return new Verification(length, 0);
  }

  private static long countAll(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT count(*) FROM deployments");
         ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private record Entry(long sequence, int kind, String ruleId, String version, String previousVersion,
      String evaluationId, String rolloutId, String reason, OffsetDateTime time, byte[] previousHash) {
    /** SHA-256 over the previous hash and each field, every string length-prefixed. */
    byte[] hash() {
      Hasher h = Hashing.sha256().newHasher()
          .putBytes(previousHash)
          .putLong(sequence)
          .putInt(kind);
      for (String field : List.of(ruleId, version, previousVersion, evaluationId, rolloutId, reason)) {
        byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
        h.putInt(bytes.length).putBytes(bytes);
      }
      return h.putLong(time.toInstant().getEpochSecond()).putInt(time.toInstant().getNano()).hash().asBytes();
    }
  }
}
