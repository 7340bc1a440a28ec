package fortress.ledger.card;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.v1.CardBrand;
import fortress.ledger.v1.CardSummary;
import fortress.ledger.v1.PaymentCard;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts card details with AES-256-GCM under the keyring's current key, whose id is stored with
 * the ciphertext. The ciphertext is bound (as associated data) to where it belongs: this node, the
 * tenant and account, and the journal entry, so a row copied to another account, tenant, node or
 * entry does not open. Only the brand and the last four digits are ever returned; a PaymentCard
 * never reaches a log or an error message.
 *
 * <p>Associated data, by {@code aad_version}:
 * <ul>
 *   <li>1 (cards stored before version 2; read only): the key id's UTF-8 bytes, then the journal
 *       sequence as 8 bytes. It binds neither node, tenant nor account.
 *   <li>2: the byte 2, then key id, node id, tenant id and account id (UTF-8) and the journal
 *       sequence (8 bytes), each preceded by its length as 4 bytes, so no two different sets of
 *       parts give the same bytes. All integers are big-endian.
 * </ul>
 */
public final class CardVault {
  /** The associated-data format every new card is sealed with. */
  public static final int AAD_VERSION = 2;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final String nodeId;
  private final CardKeyring keyring;
  private final SecureRandom random = new SecureRandom();

  /** The vault of node {@code nodeId}, sealing under the keyring's current key. */
  public CardVault(String nodeId, CardKeyring keyring) {
    checkArgument(!nodeId.isEmpty(), "a card vault needs its node id");
    this.nodeId = nodeId;
    this.keyring = keyring;
  }

  /** The journal entry a card belongs to: its tenant, account and (per-node) sequence. */
  public record Entry(String tenantId, String accountId, long journalSequence) {}

  /** A sealed card: what the card_payment row stores. */
  public record Sealed(CardBrand brand, String last4, String keyId, int aadVersion, byte[] nonce,
      byte[] ciphertext) {
    public CardSummary summary() {
      return CardSummary.newBuilder().setBrand(brand).setLast4(last4).build();
    }
  }

  public Sealed seal(PaymentCard card, Entry entry) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    String keyId = keyring.currentKeyId();
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, keyring.currentKey(), new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(associatedData(AAD_VERSION, keyId, nodeId, entry));
      byte[] ciphertext = cipher.doFinal(card.toByteArray());
      String number = card.getNumber();
      return new Sealed(brand(number), number.substring(number.length() - 4), keyId, AAD_VERSION, nonce,
          ciphertext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable", e);
    }
  }

  /**
   * Decrypts a sealed card stored with {@code entry}; for audits and tests. The key is the one the
   * card names, current or previous. Fails if the row was altered, or moved to another entry,
   * account, tenant or node; no message names anything of the card.
   */
  public PaymentCard open(Sealed sealed, Entry entry) throws GeneralSecurityException {
    SecretKeySpec key = keyring.key(sealed.keyId()).orElseThrow(() -> new GeneralSecurityException(
        "card key id '" + sealed.keyId() + "' is unknown: it is neither the current card key ('"
            + keyring.currentKeyId() + "') nor in --card-previous-keys-file"));
    if (sealed.aadVersion() != 1 && sealed.aadVersion() != AAD_VERSION) {
      throw new GeneralSecurityException("card associated-data version " + sealed.aadVersion() + " is unknown");
    }
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed.nonce()));
    cipher.updateAAD(associatedData(sealed.aadVersion(), sealed.keyId(), nodeId, entry));
    byte[] plain;
    try {
      plain = cipher.doFinal(sealed.ciphertext());
    } catch (AEADBadTagException e) {
      AEADBadTagException refused = new AEADBadTagException("card at journal sequence " + entry.journalSequence()
          + " does not open under key '" + sealed.keyId() + "' on node " + nodeId + ": its row was altered or moved "
          + "(from another entry, account, tenant or node), or that key id names another key than it was sealed under");
      refused.initCause(e);
      throw refused;
    }
    try {
      return PaymentCard.parseFrom(plain);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new GeneralSecurityException("decrypted card is malformed", e);
    }
  }

  /** The associated data of format {@code version} (see the class comment). */
  static byte[] associatedData(int version, String keyId, String nodeId, Entry entry) {
    if (version == 1) {
      byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(id.length + Long.BYTES).put(id).putLong(entry.journalSequence()).array();
    }
    checkArgument(version == AAD_VERSION, "unknown associated-data version %s", version);
    List<byte[]> parts = List.of(utf8(keyId), utf8(nodeId), utf8(entry.tenantId()), utf8(entry.accountId()),
        ByteBuffer.allocate(Long.BYTES).putLong(entry.journalSequence()).array());
    int size = 1 + parts.stream().mapToInt(p -> Integer.BYTES + p.length).sum();
    ByteBuffer aad = ByteBuffer.allocate(size).put((byte) version);
    for (byte[] part : parts) {
      aad.putInt(part.length).put(part);
    }
    checkState(!aad.hasRemaining(), "associated data was sized wrong");
    return aad.array();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The card network from the number's prefix (IIN ranges). */
  public static CardBrand brand(String number) {
    int two = Integer.parseInt(number.substring(0, 2));
    int four = Integer.parseInt(number.substring(0, 4));
    if (number.charAt(0) == '4') {
      return CardBrand.CARD_BRAND_VISA;
    }
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) {
      return CardBrand.CARD_BRAND_MASTERCARD;
    }
    if (two == 34 || two == 37) {
      return CardBrand.CARD_BRAND_AMEX;
    }
    if (four == 6011 || two == 65 || (Integer.parseInt(number.substring(0, 3)) >= 644 && two == 64)) {
      return CardBrand.CARD_BRAND_DISCOVER;
    }
    return CardBrand.CARD_BRAND_OTHER;
  }

  /** True if the digits pass the Luhn checksum. */
  public static boolean luhnValid(String digits) {
    int sum = 0;
    boolean doubled = false;
    for (int i = digits.length() - 1; i >= 0; i--) {
      int d = digits.charAt(i) - '0';
      if (doubled) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      doubled = !doubled;
    }
    return sum % 10 == 0;
  }
}
