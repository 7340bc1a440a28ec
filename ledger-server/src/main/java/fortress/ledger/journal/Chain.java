package fortress.ledger.journal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The journal's hash chain: {@code hash = SHA-256(prev_hash || canonical bytes)} and
 * {@code hmac = HMAC-SHA256(node key, hash)}. The canonical bytes are the sequence, account_ref,
 * kind (4 bytes), amount, balance_after, held_after and created_at (8 bytes each, big-endian),
 * then request_id, hold_id, transfer_id and memo, each as its UTF-8 length (-1 when null) and
 * bytes. Not thread-safe: each user holds its own, which reuses one buffer.
 */
public final class Chain {
  public static final byte[] GENESIS = new byte[32];
  private static final int FIXED_BYTES = 6 * 8 + 4;
  private static final int INITIAL_BYTES = 512;
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

  private final MessageDigest sha256;
  private final Mac hmac;
  /** The entry being hashed, in canonical form: reused from entry to entry. */
  private byte[] canonical = new byte[INITIAL_BYTES];
  private int size;

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
    LONG.set(canonical, 0, sequence);
    LONG.set(canonical, 8, accountRef);
    INT.set(canonical, 16, kind);
    LONG.set(canonical, 20, amount);
    LONG.set(canonical, 28, balanceAfter);
    LONG.set(canonical, 36, heldAfter);
    LONG.set(canonical, 44, createdMicros);
    size = FIXED_BYTES;
    putText(requestId);
    putText(holdId);
    putText(transferId);
    putText(memo);
    sha256.update(prevHash);
    sha256.update(canonical, 0, size);
    return sha256.digest();
  }

  public byte[] hash(byte[] prevHash, JournalRow row) {
    return hash(prevHash, row.sequence(), row.accountRef(), row.kind(), row.amount(), row.balanceAfter(),
        row.heldAfter(), row.requestId(), row.holdId(), row.transferId(), row.memo(), row.createdMicros());
  }

  public byte[] hmac(byte[] hash) {
    return hmac.doFinal(hash);
  }

  /** A text field: its UTF-8 length (-1 when null), then its bytes. */
  private void putText(String s) {
    if (s == null) {
      putInt(-1);
      return;
    }
    int n = s.length();
    ensure(4 + n);
    for (int i = 0; i < n; i++) {
      char ch = s.charAt(i);
      if (ch >= 0x80) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        ensure(4 + utf8.length);
        putInt(utf8.length);
        System.arraycopy(utf8, 0, canonical, size, utf8.length);
        size += utf8.length;
        return;
      }
      canonical[size + 4 + i] = (byte) ch;
    }
    putInt(n);
    size += n;
  }

  private void putInt(int v) {
    ensure(4);
    INT.set(canonical, size, v);
    size += 4;
  }

  private void ensure(int more) {
    if (size + more > canonical.length) {
      canonical = Arrays.copyOf(canonical, Math.max(canonical.length * 2, size + more));
    }
  }
}
