package fortress.shadow.api;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import fortress.core.rpc.Rejection;
import fortress.shadow.v1.ErrorReason;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.crypto.spec.SecretKeySpec;

/**
 * Opaque, tamper-evident page tokens: {@code base64url(listing \n key parts) . base64url(tag)},
 * the tag a truncated HMAC-SHA256 under a key of the server's. The listing names what was listed
 * and with which filter, so a token is good only for the listing that issued it. A token that is
 * not exactly one this server issued for this listing is INVALID_ARGUMENT naming
 * {@code page_token}, before any query runs.
 */
final class PageTokens {
  private static final int TAG_BYTES = 16;
  private static final int TOKEN_LENGTH_MAX = 1024;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private final HashFunction mac;

  PageTokens(byte[] key) {
    this.mac = Hashing.hmacSha256(new SecretKeySpec(key.clone(), "HmacSHA256"));
  }

  /** The token that continues {@code listing} after the row whose key is {@code key}. */
  String issue(String listing, List<String> key) {
    List<String> parts = new ArrayList<>(key.size() + 1);
    parts.add(listing);
    parts.addAll(key);
    for (String part : parts) {
      checkArgument(part.indexOf('\n') < 0, "a page key part holds a newline");
    }
    byte[] body = String.join("\n", parts).getBytes(StandardCharsets.UTF_8);
    return ENCODER.encodeToString(body) + "." + ENCODER.encodeToString(tag(body));
  }

  /** The key parts of a token this server issued for {@code listing}; INVALID_ARGUMENT otherwise. */
  List<String> parse(String token, String listing, int parts) {
    int dot = token.indexOf('.');
    if (token.length() > TOKEN_LENGTH_MAX || dot < 0 || dot != token.lastIndexOf('.')) {
      throw invalid();
    }
    byte[] body;
    byte[] tag;
    try {
      body = DECODER.decode(token.substring(0, dot));
      tag = DECODER.decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
    if (!MessageDigest.isEqual(tag, tag(body))) {
      throw invalid();
    }
    List<String> key = List.of(new String(body, StandardCharsets.UTF_8).split("\n", -1));
    if (key.size() != parts + 1 || !key.get(0).equals(listing)) {
      throw invalid();
    }
    return key.subList(1, key.size());
  }

  private byte[] tag(byte[] body) {
    byte[] full = mac.hashBytes(body).asBytes();
    return Arrays.copyOf(full, TAG_BYTES);
  }

  static Rejection invalid() {
    return Rejection.invalid(ErrorReason.INVALID_FIELD, "page_token",
        "is not a token this server issued for this listing; start again with an empty page_token");
  }
}
