package fortress.ledger;

import fortress.core.security.SecretFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Keys for a node on the embedded database when none are configured: generated once, kept in
 * {@code dataDir/keys} readable only by the owner, and reused on restart so the journal still
 * verifies. Production supplies keys through the environment or files instead.
 */
public final class DevKeys {
  private DevKeys() {}

  /** The file holding the named key (base64), created with a fresh key if missing. */
  public static Path file(Path dataDir, String name) throws IOException {
    loadOrCreate(dataDir, name);
    return dataDir.resolve("keys").resolve(name + ".key");
  }

  public static byte[] loadOrCreate(Path dataDir, String name) throws IOException {
    Path dir = dataDir.resolve("keys");
    Path file = dir.resolve(name + ".key");
    if (Files.exists(file)) {
      return Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
    }
    byte[] key = new byte[LedgerConfig.KEY_BYTES];
    new SecureRandom().nextBytes(key);
    SecretFiles.write(file, Base64.getEncoder().encodeToString(key));
    return key;
  }
}
