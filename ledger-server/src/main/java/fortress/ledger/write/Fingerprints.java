package fortress.ledger.write;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The idempotency fingerprint of a request: HMAC-SHA256 over its kind and its deterministic
 * serialization. Keyed, so a stored fingerprint reveals nothing about card numbers in the request.
 * Not thread-safe: owned by the writer thread.
 */
final class Fingerprints {
  private final Mac mac;

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
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(op.request().getSerializedSize() + 1);
    bytes.write(op.kind().recordedAs().code());
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      op.request().writeTo(out);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return mac.doFinal(bytes.toByteArray());
  }
}
