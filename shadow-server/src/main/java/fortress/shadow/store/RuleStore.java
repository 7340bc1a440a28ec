package fortress.shadow.store;

import fortress.core.rpc.Rejection;
import fortress.core.store.Rows;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Rule;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Rule versions and which version of each rule is champion. */
public final class RuleStore {
  private static final String COLUMNS = """
      r.rule_id, r.version, r.expression, r.action, r.description, r.cost, r.create_time,
      (c.version IS NOT NULL) AS champion
      """;
  private static final String FROM = " FROM rules r LEFT JOIN champions c ON c.rule_id = r.rule_id AND c.version = r.version ";

  private RuleStore() {}

  /** A stored version, and whether this call stored it. */
  public record Stored(Rule rule, boolean created) {}

  /** Where a listing continues: after this row, in (rule_id, create_time, version) order. */
  public record After(String ruleId, OffsetDateTime createTime, String version) {}

  /** Stores a version unless the rule has it already. */
  public static Stored insert(Connection c, Rule rule) throws SQLException {
    Optional<Rule> existing = find(c, rule.getRuleId(), rule.getVersion());
    if (existing.isPresent()) {
      if (existing.get().getAction() != rule.getAction()) {
        throw new Rejection(ErrorReason.RULE_VERSION_EXISTS, "rule " + rule.getRuleId() + " already has this expression "
            + "as version " + rule.getVersion() + " with action " + existing.get().getAction()
            + "; a version is its expression, so change the expression or create another rule",
            Map.of("rule_id", rule.getRuleId(), "version", rule.getVersion()));
      }
      return new Stored(existing.get(), false);
    }
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO rules (rule_id, version, expression, action, description, cost, create_time)
        VALUES (?, ?, ?, ?, ?, ?, ?)""")) {
      s.setString(1, rule.getRuleId());
      s.setString(2, rule.getVersion());
      s.setString(3, rule.getExpression());
      s.setInt(4, rule.getActionValue());
      s.setString(5, rule.getDescription());
      s.setLong(6, rule.getCost());
      s.setObject(7, Rows.now());
      s.executeUpdate();
    }
    return new Stored(find(c, rule.getRuleId(), rule.getVersion()).orElseThrow(), true);
  }

  /** One version, or the newest version when {@code version} is empty. */
  public static Optional<Rule> find(Connection c, String ruleId, String version) throws SQLException {
    String sql = "SELECT " + COLUMNS + FROM + "WHERE r.rule_id = ? "
        + (version.isEmpty() ? "ORDER BY r.create_time DESC, r.version DESC LIMIT 1" : "AND r.version = ?");
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, ruleId);
      if (!version.isEmpty()) {
        s.setString(2, version);
      }
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? Optional.of(rule(rs)) : Optional.empty();
      }
    }
  }

  /** The version asked for, or RULE_NOT_FOUND. */
  public static Rule get(Connection c, String ruleId, String version) throws SQLException {
    return find(c, ruleId, version).orElseThrow(() -> new Rejection(ErrorReason.RULE_NOT_FOUND, "rule " + ruleId
        + (version.isEmpty() ? "" : " version " + version) + " does not exist",
        Map.of("rule_id", ruleId, "version", version)));
  }

  /** A page of versions ordered by rule, then age; {@code after} is the last row's key, or null for the first page. */
  public static List<Rule> list(Connection c, String ruleId, After after, int limit) throws SQLException {
    StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + FROM + "WHERE true ");
    if (!ruleId.isEmpty()) {
      sql.append("AND r.rule_id = ? ");
    }
    if (after != null) {
      sql.append("AND (r.rule_id, r.create_time, r.version) > (?, ?, ?) ");
    }
    sql.append("ORDER BY r.rule_id, r.create_time, r.version LIMIT ?");
    try (PreparedStatement s = c.prepareStatement(sql.toString())) {
      int i = 1;
      if (!ruleId.isEmpty()) {
        s.setString(i++, ruleId);
      }
      if (after != null) {
        s.setString(i++, after.ruleId());
        s.setObject(i++, after.createTime());
        s.setString(i++, after.version());
      }
      s.setInt(i, limit);
      List<Rule> rules = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          rules.add(rule(rs));
        }
      }
      return rules;
    }
  }

  /** The key that continues a listing after {@code rule}, with create_time to the microsecond. */
  public static After key(Connection c, Rule rule) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "SELECT create_time FROM rules WHERE rule_id = ? AND version = ?")) {
      s.setString(1, rule.getRuleId());
      s.setString(2, rule.getVersion());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return new After(rule.getRuleId(), rs.getObject(1, OffsetDateTime.class), rule.getVersion());
      }
    }
  }

  /** Every rule's champion version: rule_id to (expression, action). */
  public static Map<String, Rule> champions(Connection c) throws SQLException {
    Map<String, Rule> out = new HashMap<>();
    try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS
        + " FROM champions c JOIN rules r ON r.rule_id = c.rule_id AND r.version = c.version");
         ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        Rule r = rule(rs);
        out.put(r.getRuleId(), r);
      }
    }
    return out;
  }

  /** The champion version of a rule, or empty. */
  public static String championVersion(Connection c, String ruleId) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT version FROM champions WHERE rule_id = ?")) {
      s.setString(1, ruleId);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : "";
      }
    }
  }

  public static void setChampion(Connection c, String ruleId, String version) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO champions (rule_id, version) VALUES (?, ?)
        ON CONFLICT (rule_id) DO UPDATE SET version = excluded.version""")) {
      s.setString(1, ruleId);
      s.setString(2, version);
      s.executeUpdate();
    }
  }

  private static Rule rule(ResultSet rs) throws SQLException {
    return Rule.newBuilder()
        .setRuleId(rs.getString("rule_id"))
        .setVersion(rs.getString("version"))
        .setExpression(rs.getString("expression"))
        .setAction(Action.forNumber(rs.getInt("action")))
        .setDescription(rs.getString("description"))
        .setCost(rs.getLong("cost"))
        .setCreateTime(Rows.timestamp(rs, "create_time"))
        .setChampion(rs.getBoolean("champion"))
        .build();
  }
}
