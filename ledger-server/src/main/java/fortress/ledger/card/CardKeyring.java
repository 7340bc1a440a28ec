package fortress.ledger.card;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import javax.crypto.spec.SecretKeySpec;

/**
 * The card keys a node holds, by key id: the current one, which seals every new card, and the
 * previous ones, which only open cards sealed before a rotation. Rotating means a new current key
 * (with a new id) and the old key moved to the previous-keys file; stored cards keep opening.
 */
public final class CardKeyring {
  /** What a key id may be: it is stored beside every ciphertext and named in errors. */
  public static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  public static final int KEY_BYTES = 32;
  /** The most previous keys a file may list. */
  public static final int PREVIOUS_KEYS_MAX = 1_000;

  private final String currentKeyId;
  private final Map<String, SecretKeySpec> keys = new TreeMap<>();

  /**
   * {@code previous}: key id to key, none of them the current id. Keys are copied; the caller's
   * arrays may be wiped afterwards.
   */
  public CardKeyring(String currentKeyId, byte[] currentKey, Map<String, byte[]> previous) {
    checkArgument(KEY_ID.matcher(currentKeyId).matches(), "card key id must be 1-64 of [A-Za-z0-9._-]");
    checkArgument(!previous.containsKey(currentKeyId),
        "card key id '%s' is both the current key and a previous one", currentKeyId);
    this.currentKeyId = currentKeyId;
    keys.put(currentKeyId, spec(currentKey));
    previous.forEach((id, key) -> {
      checkArgument(KEY_ID.matcher(id).matches(), "card key id must be 1-64 of [A-Za-z0-9._-]");
      keys.put(id, spec(key));
    });
  }

  /** A keyring of one key, with nothing to open from before a rotation. */
  public static CardKeyring of(String keyId, byte[] key) {
    return new CardKeyring(keyId, key, Map.of());
  }

  public String currentKeyId() {
    return currentKeyId;
  }

  SecretKeySpec currentKey() {
    return keys.get(currentKeyId);
  }

  /** The key stored cards name by {@code keyId}, current or previous. */
  Optional<SecretKeySpec> key(String keyId) {
    return Optional.ofNullable(keys.get(keyId));
  }

  private static SecretKeySpec spec(byte[] key) {
    checkArgument(key != null && key.length == KEY_BYTES, "a card key must be %s bytes", KEY_BYTES);
    return new SecretKeySpec(key, "AES");
  }

  /**
   * Reads a previous-keys file: one {@code <key-id> <base64 of 32 bytes>} per line; blank lines
   * and lines starting with {@code #} are skipped. Throws IllegalArgumentException naming the file
   * and line of the first problem; the message never repeats what the line holds (a key, or a key
   * written where the id belongs).
   */
  public static Map<String, byte[]> readPreviousKeys(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + " cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    Map<String, byte[]> keys = new TreeMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = file + " line " + (i + 1);
      String[] parts = line.split("\\s+");
      if (parts.length != 2) {
        throw new IllegalArgumentException(where + " is not '<key-id> <base64 of " + KEY_BYTES + " bytes>'");
      }
      if (!KEY_ID.matcher(parts[0]).matches()) {
        throw new IllegalArgumentException(where + ": the key id must be 1-64 of [A-Za-z0-9._-]");
      }
      byte[] key;
      try {
        key = Base64.getDecoder().decode(parts[1]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": the key is not valid base64");
      }
      if (key.length != KEY_BYTES) {
        throw new IllegalArgumentException(where + ": the key must decode to " + KEY_BYTES
            + " bytes, not " + key.length);
      }
      if (keys.put(parts[0], key) != null) {
        throw new IllegalArgumentException(where + ": its key id is listed on an earlier line too");
      }
      if (keys.size() > PREVIOUS_KEYS_MAX) {
        throw new IllegalArgumentException(file + " lists more than " + PREVIOUS_KEYS_MAX + " keys");
      }
    }
    return keys;
  }
}
