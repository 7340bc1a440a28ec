package fortress.ledger.card;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.ledger.TestNode;
import fortress.ledger.v1.PaymentCard;
import java.security.GeneralSecurityException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The vault on its own: what its associated data binds, and how it picks a key. */
class CardVaultTest {
  static final String PAN = "4111111111111111";
  static final PaymentCard CARD = PaymentCard.newBuilder().setNumber(PAN).setExpiryMonth(9).setExpiryYear(2030)
      .setHolderName("Grace Hopper").build();

  private final byte[] key = TestNode.randomKey();

  @Test
  void associatedData_partsSplitDifferently_differ() {
    CardVault.Entry abC = new CardVault.Entry("ab", "c", 7);
    CardVault.Entry aBc = new CardVault.Entry("a", "bc", 7);
    assertThat(CardVault.associatedData(2, "k1", "n", abC)).isNotEqualTo(CardVault.associatedData(2, "k1", "n", aBc));
    // The split can also run across the key id, the node and the tenant.
    CardVault.Entry t = new CardVault.Entry("t", "a", 7);
    CardVault.Entry nt = new CardVault.Entry("nt", "a", 7);
    assertThat(CardVault.associatedData(2, "k1", "n", t)).isNotEqualTo(CardVault.associatedData(2, "k1", "", nt));
    assertThat(CardVault.associatedData(2, "k1", "n", t)).isNotEqualTo(CardVault.associatedData(2, "k", "1n", t));
  }

  @Test
  void associatedData_version2_startsWithItsVersionAndLengthPrefixesEveryPart() {
    byte[] aad = CardVault.associatedData(2, "k1", "n", new CardVault.Entry("ab", "c", 1));
    assertThat(aad).containsExactly(2,
        0, 0, 0, 2, 'k', '1',
        0, 0, 0, 1, 'n',
        0, 0, 0, 2, 'a', 'b',
        0, 0, 0, 1, 'c',
        0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1);
  }

  @Test
  void open_cardSealedForTenantAbAccountC_refusedAsTenantAAccountBc() throws Exception {
    CardVault vault = new CardVault("ledger-1", CardKeyring.of("k1", key));
    CardVault.Sealed sealed = vault.seal(CARD, new CardVault.Entry("ab", "c", 5));
    assertThat(vault.open(sealed, new CardVault.Entry("ab", "c", 5))).isEqualTo(CARD);
    GeneralSecurityException e = catchThrowableOfType(GeneralSecurityException.class,
        () -> vault.open(sealed, new CardVault.Entry("a", "bc", 5)));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("does not open").doesNotContain(PAN).doesNotContain("Grace Hopper");
  }

  @Test
  void open_sealedOnAnotherNode_refused() throws Exception {
    CardVault.Sealed sealed = new CardVault("ledger-1", CardKeyring.of("k1", key))
        .seal(CARD, new CardVault.Entry("t", "a", 5));
    GeneralSecurityException e = catchThrowableOfType(GeneralSecurityException.class,
        () -> new CardVault("ledger-2", CardKeyring.of("k1", key)).open(sealed, new CardVault.Entry("t", "a", 5)));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("ledger-2").doesNotContain(PAN);
  }

  @Test
  void open_afterRotation_picksTheKeyTheCardNames() throws Exception {
    byte[] next = TestNode.randomKey();
    CardVault.Entry entry = new CardVault.Entry("t", "a", 5);
    CardVault.Sealed old = new CardVault("ledger-1", CardKeyring.of("k1", key)).seal(CARD, entry);
    CardVault rotated = new CardVault("ledger-1", new CardKeyring("k2", next, Map.of("k1", key)));
    CardVault.Sealed sealedNow = rotated.seal(CARD, entry);
    assertThat(sealedNow.keyId()).isEqualTo("k2");
    assertThat(rotated.open(old, entry)).isEqualTo(CARD);
    assertThat(rotated.open(sealedNow, entry)).isEqualTo(CARD);
  }

  @Test
  void open_unknownKeyId_namesTheIdNotTheCard() {
    CardVault.Entry entry = new CardVault.Entry("t", "a", 5);
    CardVault.Sealed old = new CardVault("ledger-1", CardKeyring.of("k1", key)).seal(CARD, entry);
    CardVault withoutK1 = new CardVault("ledger-1", CardKeyring.of("k2", TestNode.randomKey()));
    GeneralSecurityException e = catchThrowableOfType(GeneralSecurityException.class,
        () -> withoutK1.open(old, entry));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("'k1'").contains("--card-previous-keys-file")
        .doesNotContain(PAN);
  }

  @Test
  void keyring_currentIdAlsoListedAsPrevious_refused() {
    assertThat(catchThrowableOfType(IllegalArgumentException.class,
        () -> new CardKeyring("k1", key, Map.of("k1", TestNode.randomKey())))).hasMessageContaining("'k1'");
  }
}
