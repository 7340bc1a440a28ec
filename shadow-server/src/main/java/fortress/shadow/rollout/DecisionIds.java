package fortress.shadow.rollout;

import static com.google.common.base.Preconditions.checkArgument;

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
 * the tag is a truncated HMAC-SHA256 under the server's key of the id's body and of its
 * {@link Owner}, the caller it was issued to. An id the server did not issue, or issued to another
 * caller, fails the tag check and is DECISION_NOT_FOUND, the same answer either way: nobody learns
 * whether someone else's decision exists.
 */
public final class DecisionIds {
  private static final HexFormat HEX = HexFormat.of();
  private static final int TAG_BYTES = 8;

  private final ThreadLocal<Mac> macs;

  /**
   * The caller a decision was issued to: its token's subject and tenant (empty for none). With
   * tokens off every decision has {@link #NONE}.
   */
  public record Owner(String subject, String tenant) {
    public static final Owner NONE = new Owner("", "");

    public Owner {
      checkArgument(subject != null && tenant != null, "an owner's subject and tenant are never null");
    }
  }

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

  public String issue(Decision d, Owner owner) {
    String body = "d." + d.rolloutId() + "." + d.segment() + "." + d.arm().getNumber() + (d.championFlagged() ? 1 : 0)
        + (d.challengerFlagged() ? 1 : 0) + "." + HEX.toHexDigits(ThreadLocalRandom.current().nextLong());
    return body + "." + tag(body, owner);
  }

  /**
   * The decision an id describes, or DECISION_NOT_FOUND for an id this server did not issue to
   * {@code owner}.
   */
  public Decision parse(String id, Owner owner) {
    int lastDot = id.lastIndexOf('.');
    String[] parts = id.split("\\.", -1);
    if (parts.length != 6 || !parts[0].equals("d") || parts[3].length() != 3
        || !constantTimeEquals(tag(id.substring(0, lastDot), owner), id.substring(lastDot + 1))) {
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

  /** The subject is length-prefixed, so no (subject, tenant) pair reads as another. */
  private String tag(String body, Owner owner) {
    String signed = body + "\n" + owner.subject().length() + ":" + owner.subject() + "\n" + owner.tenant();
    byte[] mac = macs.get().doFinal(signed.getBytes(StandardCharsets.UTF_8));
    return HEX.formatHex(mac, 0, TAG_BYTES);
  }

  private static boolean constantTimeEquals(String a, String b) {
    return java.security.MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static Rejection notFound(String id) {
    return new Rejection(ErrorReason.DECISION_NOT_FOUND, "decision_id names no decision this server's Decide "
        + "issued to this caller",
        Map.of("field", "decision_id"));
  }
}
