package fortress.shadow.rollout;

import fortress.core.rpc.Rejection;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.ErrorReason;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Decision ids carry what ReportOutcome needs to attribute an outcome, so Decide writes nothing:
 * {@code d.<rollout>.<segment>.<arm><champion flagged><challenger flagged>.<nonce>.<tag>}, where
 * the tag is a truncated HMAC-SHA256 under the server's key. An id the server did not issue fails
 * the tag check and is DECISION_NOT_FOUND.
 */
public final class DecisionIds {
  private static final HexFormat HEX = HexFormat.of();
  private static final int TAG_BYTES = 8;

  private final ThreadLocal<Mac> macs;

  /** What a decision id says. */
  public record Decision(long rolloutId, int segment, Arm arm, boolean championFlagged, boolean challengerFlagged) {}

  public DecisionIds(byte[] key) {
    SecretKeySpec spec = new SecretKeySpec(key.clone(), "HmacSHA256");
    this.macs = ThreadLocal.withInitial(() -> {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(spec);
        return mac;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("HmacSHA256 is unavailable", e);
      }
    });
  }

  public String issue(Decision d) {
    String body = "d." + d.rolloutId() + "." + d.segment() + "." + d.arm().getNumber() + (d.championFlagged() ? 1 : 0)
        + (d.challengerFlagged() ? 1 : 0) + "." + HEX.toHexDigits(ThreadLocalRandom.current().nextLong());
    return body + "." + tag(body);
  }

  /** The decision an id describes, or DECISION_NOT_FOUND for an id this server did not issue. */
  public Decision parse(String id) {
    int lastDot = id.lastIndexOf('.');
    String[] parts = id.split("\\.", -1);
    if (parts.length != 6 || !parts[0].equals("d") || parts[3].length() != 3
        || !constantTimeEquals(tag(id.substring(0, lastDot)), id.substring(lastDot + 1))) {
      throw notFound(id);
    }
    try {
      Arm arm = Arm.forNumber(parts[3].charAt(0) - '0');
      if (arm == null) {
        throw notFound(id);
      }
      return new Decision(Long.parseLong(parts[1]), Integer.parseInt(parts[2]), arm, parts[3].charAt(1) == '1',
          parts[3].charAt(2) == '1');
    } catch (NumberFormatException e) {
      throw notFound(id);
    }
  }

  private String tag(String body) {
    byte[] mac = macs.get().doFinal(body.getBytes(StandardCharsets.UTF_8));
    return HEX.formatHex(mac, 0, TAG_BYTES);
  }

  private static boolean constantTimeEquals(String a, String b) {
    return java.security.MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static Rejection notFound(String id) {
    return new Rejection(ErrorReason.DECISION_NOT_FOUND, "decision_id was not issued by this server's Decide",
        Map.of("field", "decision_id"));
  }
}
