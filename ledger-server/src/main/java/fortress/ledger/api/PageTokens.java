package fortress.ledger.api;

import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * AIP-158 page tokens for ListEntries: opaque to clients, bound to the query they came from, so a
 * token reused with another account or filter is refused instead of silently misapplied.
 */
final class PageTokens {
  private PageTokens() {}

  static String next(String query, long lastSequence) {
    String raw = "v1|" + lastSequence + "|" + fingerprint(query);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.US_ASCII));
  }

  /** The last sequence the token covers, or -1 if the token is malformed or for another query. */
  static long afterSequence(String token, String query) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII);
      String[] parts = raw.split("\\|");
      if (parts.length != 3 || !parts[0].equals("v1") || !parts[2].equals(fingerprint(query))) {
        return -1;
      }
      long sequence = Long.parseLong(parts[1]);
      return sequence >= 0 ? sequence : -1;
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  private static String fingerprint(String query) {
    return Hashing.sha256().hashString(query, StandardCharsets.UTF_8).toString().substring(0, 16);
  }
}
