package fortress.ledger.card;

import fortress.ledger.v1.CardBrand;
import fortress.ledger.v1.CardSummary;
import fortress.ledger.v1.PaymentCard;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts card details with AES-256-GCM under a key that carries an id. The ciphertext is bound
 * to its journal entry (associated data), so it cannot be moved to another row. Only the brand
 * and the last four digits are ever returned; a PaymentCard never reaches a log.
 */
public final class CardVault {
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final String keyId;
  private final SecretKeySpec key;
  private final SecureRandom random = new SecureRandom();

  public CardVault(String keyId, byte[] key) {
    this.keyId = keyId;
    this.key = new SecretKeySpec(key, "AES");
  }

  /** A sealed card: what the card_payment row stores. */
  public record Sealed(CardBrand brand, String last4, String keyId, byte[] nonce, byte[] ciphertext) {
    public CardSummary summary() {
      return CardSummary.newBuilder().setBrand(brand).setLast4(last4).build();
    }
  }

  public Sealed seal(PaymentCard card, long journalSequence) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(associatedData(keyId, journalSequence));
      byte[] ciphertext = cipher.doFinal(card.toByteArray());
      String number = card.getNumber();
      return new Sealed(brand(number), number.substring(number.length() - 4), keyId, nonce, ciphertext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable", e);
    }
  }

  /** Decrypts a sealed card; for audits and tests. Fails if the row was altered or moved. */
  public PaymentCard open(Sealed sealed, long journalSequence) throws GeneralSecurityException {
    if (!sealed.keyId().equals(keyId)) {
      throw new GeneralSecurityException("card was sealed under key " + sealed.keyId() + ", not " + keyId);
    }
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed.nonce()));
    cipher.updateAAD(associatedData(sealed.keyId(), journalSequence));
    try {
      return PaymentCard.parseFrom(cipher.doFinal(sealed.ciphertext()));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new GeneralSecurityException("decrypted card is malformed", e);
    }
  }

  private static byte[] associatedData(String keyId, long journalSequence) {
    byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(id.length + 8).put(id).putLong(journalSequence).array();
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
