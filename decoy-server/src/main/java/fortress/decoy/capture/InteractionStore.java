package fortress.decoy.capture;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import fortress.core.store.Rows;
import fortress.decoy.v1.Interaction;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/** Recorded decoy requests: appended in batches, read back newest first or in id order for export. */
public final class InteractionStore {
  public static final String PREFIX = "i-";

  private InteractionStore() {}

  static void append(Connection c, List<Interaction> batch) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO interactions (time, client_ip, interaction) VALUES (?, ?, ?)")) {
      for (Interaction i : batch) {
        Timestamp t = i.getTime();
        s.setObject(1, OffsetDateTime.ofInstant(Instant.ofEpochSecond(t.getSeconds(), t.getNanos()), ZoneOffset.UTC));
        s.setString(2, i.getClientIp());
        s.setBytes(3, i.toBuilder().clearTime().build().toByteArray());
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  /** Up to {@code limit} interactions with ids below {@code beforeId}, newest first. */
  public static List<Interaction> newest(Connection c, long beforeId, String clientIp, int limit)
      throws SQLException {
    String sql = """
        SELECT interaction_id, time, interaction FROM interactions
        WHERE interaction_id < ? AND (? = '' OR client_ip = ?)
        ORDER BY interaction_id DESC LIMIT ?""";
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setLong(1, beforeId);
      s.setString(2, clientIp);
      s.setString(3, clientIp);
      s.setInt(4, limit);
      return read(s);
    }
  }

  /** Up to {@code limit} interactions with ids in ({@code afterId}, {@code upToId}], oldest first. */
  public static List<Interaction> after(Connection c, long afterId, long upToId, int limit) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        SELECT interaction_id, time, interaction FROM interactions
        WHERE interaction_id > ? AND interaction_id <= ? ORDER BY interaction_id LIMIT ?""")) {
      s.setLong(1, afterId);
      s.setLong(2, upToId);
      s.setInt(3, limit);
      return read(s);
    }
  }

  /** The number of an interaction_id this store issued. */
  public static long number(String interactionId) {
    return Rows.number(PREFIX, interactionId).orElseThrow();
  }

  private static List<Interaction> read(PreparedStatement s) throws SQLException {
    List<Interaction> out = new ArrayList<>();
    try (ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        try {
          out.add(Interaction.parseFrom(rs.getBytes(3)).toBuilder()
              .setInteractionId(PREFIX + rs.getLong(1))
              .setTime(Rows.timestamp(rs, "time"))
              .build());
        } catch (InvalidProtocolBufferException e) {
          throw new SQLException("a stored interaction does not parse", e);
        }
      }
    }
    return out;
  }
}
