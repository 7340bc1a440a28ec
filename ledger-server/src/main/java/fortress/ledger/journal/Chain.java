package fortress.ledger.journal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The journal's hash chain: {@code hash = SHA-256(prev_hash || canonical bytes)} and
 * {@code hmac = HMAC-SHA256(node key, hash)}. Not thread-safe: each user holds its own.
 */
public final class Chain {
  public static final byte[] GENESIS = new byte[32];
  private static final int FIXED_BYTES = 6 * 8 + 4;

  private final MessageDigest sha256;
  private final Mac hmac;

  public Chain(byte[] key) {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
      hmac = Mac.getInstance("HmacSHA256");
      hmac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM lacks SHA-256 or HmacSHA256", e);
    }
  }

  /** The hash of an entry, given the previous entry's hash. */
  public byte[] hash(byte[] prevHash, long sequence, long accountRef, int kind, long amount, long balanceAfter,
      long heldAfter, String requestId, String holdId, String transferId, String memo, long createdMicros) {
    byte[][] texts = {bytes(requestId), bytes(holdId), bytes(transferId), bytes(memo)};
    int size = FIXED_BYTES;
    for (byte[] t : texts) {
      size += 4 + (t == null ? 0 : t.length);
    }
    ByteBuffer canonical = ByteBuffer.allocate(size)
        .putLong(sequence).putLong(accountRef).putInt(kind).putLong(amount)
        .putLong(balanceAfter).putLong(heldAfter).putLong(createdMicros);
    for (byte[] t : texts) {
      if (t == null) {
        canonical.putInt(-1);
      } else {
        canonical.putInt(t.length).put(t);
      }
    }
    sha256.update(prevHash);
    sha256.update(canonical.array());
    return sha256.digest();
  }

  public byte[] hash(byte[] prevHash, JournalRow row) {
    return hash(prevHash, row.sequence(), row.accountRef(), row.kind(), row.amount(), row.balanceAfter(),
        row.heldAfter(), row.requestId(), row.holdId(), row.transferId(), row.memo(), row.createdMicros());
  }

  public byte[] hmac(byte[] hash) {
    return hmac.doFinal(hash);
  }

  private static byte[] bytes(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
