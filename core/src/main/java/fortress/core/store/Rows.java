package fortress.core.store;

import com.google.protobuf.Timestamp;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;

/** Conversions between rows and messages that the servers' stores share. */
public final class Rows {
  private Rows() {}

  public static Timestamp timestamp(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    if (t == null) {
      return Timestamp.getDefaultInstance();
    }
    Instant i = t.toInstant();
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  /** Now, at the microsecond precision PostgreSQL stores, so what is hashed is what is read back. */
  public static OffsetDateTime now() {
    return OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
  }

  /** The number of an id made of {@code prefix} and a number, such as "ev-12"; empty for anything else. */
  public static java.util.OptionalLong number(String prefix, String id) {
    if (id.startsWith(prefix)) {
      try {
        return java.util.OptionalLong.of(Long.parseLong(id.substring(prefix.length())));
      } catch (NumberFormatException e) {
        // Not a number: falls through to empty.
      }
    }
    return java.util.OptionalLong.empty();
  }

  /** An opaque page token holding the last row's key parts. */
  public static String pageToken(List<String> key) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString(String.join("\n", key).getBytes(StandardCharsets.UTF_8));
  }

  /** The key parts of a page token; empty when it is not a token of {@code parts} parts this server issued. */
  public static java.util.Optional<List<String>> pageKey(String token, int parts) {
    try {
      List<String> key = List.of(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8)
          .split("\n", -1));
      if (key.size() == parts) {
        return java.util.Optional.of(key);
      }
    } catch (IllegalArgumentException e) {
      // Falls through to empty.
    }
    return java.util.Optional.empty();
  }
}
