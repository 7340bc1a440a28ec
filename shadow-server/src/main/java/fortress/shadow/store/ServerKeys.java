package fortress.shadow.store;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Keys the server makes for itself on first start and keeps in its database. */
public final class ServerKeys {
  private static final int KEY_BYTES = 32;

  private ServerKeys() {}

  /** The named key, made from SecureRandom the first time it is asked for. */
  public static byte[] loadOrCreate(Connection c, String name) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO server_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")) {
      byte[] key = new byte[KEY_BYTES];
      new SecureRandom().nextBytes(key);
      s.setString(1, name);
      s.setBytes(2, key);
      s.executeUpdate();
    }
    try (PreparedStatement s = c.prepareStatement("SELECT key FROM server_keys WHERE name = ?")) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getBytes(1);
      }
    }
  }
}
