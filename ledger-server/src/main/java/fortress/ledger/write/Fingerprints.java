package fortress.ledger.write;

import com.google.protobuf.CodedOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The idempotency fingerprint of a request: HMAC-SHA256 over its kind and its deterministic
 * serialization. Keyed, so a stored fingerprint reveals nothing about card numbers in the request.
 * Not thread-safe: owned by the writer thread, which reuses one serialization buffer.
 */
final class Fingerprints {
  private static final int INITIAL_BYTES = 1024;

  private final Mac mac;
  private byte[] buffer = new byte[INITIAL_BYTES];

  Fingerprints(byte[] nodeKey) {
    try {
      Mac derive = Mac.getInstance("HmacSHA256");
      derive.init(new SecretKeySpec(nodeKey, "HmacSHA256"));
      byte[] key = derive.doFinal("fortress idempotency fingerprint v1".getBytes(StandardCharsets.US_ASCII));
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM lacks HmacSHA256", e);
    }
  }

  byte[] of(Op op) {
    int size = op.request().getSerializedSize();
    if (size > buffer.length) {
      buffer = new byte[Math.max(size, buffer.length * 2)];
    }
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(buffer, 0, size);
      out.useDeterministicSerialization();
      op.request().writeTo(out);
      out.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    mac.update((byte) op.kind().recordedAs().code());
    mac.update(buffer, 0, size);
    return mac.doFinal();
  }
}
