package fortress.decoy.api;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.core.store.Rows;
import fortress.decoy.v1.Template;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Templates and text-model corpora in PostgreSQL. */
final class DecoyStore {
  private DecoyStore() {}

  /** Inserts the template; false if the id is taken. */
  static boolean insertTemplate(Connection c, Template t) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO templates (template_id, template) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
      s.setString(1, t.getTemplateId());
      s.setBytes(2, t.toBuilder().clearCreateTime().build().toByteArray());
      return s.executeUpdate() == 1;
    }
  }

  static Optional<Template> template(Connection c, String id) throws SQLException {
    List<Template> found = templates(c, "WHERE template_id = ?", id, 1);
    return found.stream().findFirst();
  }

  /** Templates with ids after {@code afterId}, by id. */
  static List<Template> templatesAfter(Connection c, String afterId, int limit) throws SQLException {
    return templates(c, "WHERE template_id > ?", afterId, limit);
  }

  private static List<Template> templates(Connection c, String where, String key, int limit) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT template, create_time FROM templates " + where
        + " ORDER BY template_id LIMIT ?")) {
      s.setString(1, key);
      s.setInt(2, limit);
      List<Template> out = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          try {
            out.add(Template.parseFrom(rs.getBytes(1)).toBuilder().setCreateTime(Rows.timestamp(rs, "create_time"))
                .build());
          } catch (InvalidProtocolBufferException e) {
            throw new SQLException("a stored template does not parse", e);
          }
        }
      }
      return out;
    }
  }

  static void deleteTemplate(Connection c, String id) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("DELETE FROM templates WHERE template_id = ?")) {
      s.setString(1, id);
      s.executeUpdate();
    }
  }

  static void putModel(Connection c, String model, String corpus) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        INSERT INTO text_models (model, corpus) VALUES (?, ?)
        ON CONFLICT (model) DO UPDATE SET corpus = excluded.corpus, create_time = now()""")) {
      s.setString(1, model);
      s.setString(2, corpus);
      s.executeUpdate();
    }
  }

  /** Every stored corpus by model. */
  static Map<String, String> models(Connection c) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    try (PreparedStatement s = c.prepareStatement("SELECT model, corpus FROM text_models ORDER BY model");
        ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getString(2));
      }
    }
    return out;
  }
}
