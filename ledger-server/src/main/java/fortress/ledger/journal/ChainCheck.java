package fortress.ledger.journal;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks the links of one {@link EntryChunk}: each entry's stored hash against {@code SHA-256(the
 * previous entry's stored hash || its canonical bytes)}, then its stored HMAC against
 * {@code HMAC-SHA256(node key, stored hash)}. The same formula as {@link Chain}, over bytes already
 * in canonical form, into reused buffers. Entry i needs only entry i-1's stored hash, so chunks
 * are checked independently, on any thread. Not thread-safe: each task makes its own.
 */
final class ChainCheck {
  private final MessageDigest sha256;
  private final Mac hmac;
  private final byte[] digest = new byte[EntryChunk.DIGEST_BYTES];

  ChainCheck(byte[] key) {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
      hmac = Mac.getInstance("HmacSHA256");
      hmac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM lacks SHA-256 or HmacSHA256", e);
    }
  }

  /** The chunk's first entry whose hash or HMAC is wrong, or null. */
  Finding firstBroken(EntryChunk chunk) {
    int d = EntryChunk.DIGEST_BYTES;
    try {
      for (int i = 0; i < chunk.rows; i++) {
        if (i == 0) {
          sha256.update(chunk.previousHash);
        } else {
          sha256.update(chunk.hash, (i - 1) * d, d);
        }
        sha256.update(chunk.canonical, chunk.offset[i], chunk.offset[i + 1] - chunk.offset[i]);
        sha256.digest(digest, 0, d);
        if (!chunk.hashLengthRight[i] || !Arrays.equals(digest, 0, d, chunk.hash, i * d, (i + 1) * d)) {
          long sequence = chunk.sequence[i];
          return new Finding(chunk.firstPosition + i, Finding.HASH, sequence,
              "entry " + sequence + " does not match its hash: its contents or its predecessor changed");
        }
        hmac.update(chunk.hash, i * d, d);
        hmac.doFinal(digest, 0);
        if (!chunk.hmacLengthRight[i] || !Arrays.equals(digest, 0, d, chunk.hmac, i * d, (i + 1) * d)) {
          long sequence = chunk.sequence[i];
          return new Finding(chunk.firstPosition + i, Finding.HMAC, sequence,
              "entry " + sequence + " has an HMAC not made with this node's key");
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("a 32-byte buffer was refused for a SHA-256 digest", e);
    }
    return null;
  }
}
