package fortress.core.ring;

import java.util.OptionalLong;
import java.util.UUID;

/**
 * Hold identifiers carry the key hash of their account ({@code hold-<16 hex>-<uuid>}), so a
 * CaptureHold or ReleaseHold, which names only the hold, routes to the node that owns the account.
 */
public final class HoldIds {
  private static final String PREFIX = "hold-";
  private static final int LENGTH = PREFIX.length() + 16 + 1 + 36;

  private HoldIds() {}

  public static String create(long keyHash) {
    return create(keyHash, UUID.randomUUID());
  }

  /** A hold id with the given unique part (the writer's source of ids). */
  public static String create(long keyHash, UUID unique) {
    return PREFIX + String.format("%016x", keyHash) + "-" + unique;
  }

  /** The account key hash a hold id carries, or empty if the id is not one a node issued. */
  public static OptionalLong keyHash(String holdId) {
    if (holdId.length() != LENGTH || !holdId.startsWith(PREFIX) || holdId.charAt(PREFIX.length() + 16) != '-') {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseUnsignedLong(holdId.substring(PREFIX.length(), PREFIX.length() + 16), 16));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }
}
