package fortress.ledger.card;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import fortress.ledger.TestNode;
import fortress.ledger.v1.CardBrand;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.PaymentCard;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class CardDepositTest {
  private static final String PAN = "5555555555554444";

  @Test
  void deposit_withCard_onlyBrandAndLast4LeaveAndNothingPlainIsStoredOrLogged() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    try (TestNode node = new TestNode()) {
      node.open("cards", "c", 0);
      PaymentCard card = PaymentCard.newBuilder().setNumber(PAN).setExpiryMonth(4).setExpiryYear(2031)
          .setHolderName("Ada Lovelace").build();
      DepositResponse r = node.stub.deposit(DepositRequest.newBuilder().setRequestId(TestNode.id())
          .setTenantId("cards").setAccountId("c").setAmount(500).setCard(card).build());
      assertThat(r.getCard().getBrand()).isEqualTo(CardBrand.CARD_BRAND_MASTERCARD);
      assertThat(r.getCard().getLast4()).isEqualTo("4444");
      assertThat(r.toString()).doesNotContain(PAN);

      try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
        ResultSet dump = s.executeQuery("SELECT string_agg(t::text, '|') FROM card_payment t");
        dump.next();
        assertThat(dump.getString(1)).doesNotContain(PAN).doesNotContain("Ada Lovelace");
        ResultSet idem = s.executeQuery("SELECT string_agg(encode(response, 'escape') || encode(request_hash, 'hex'),"
            + " '|') FROM idempotency");
        idem.next();
        assertThat(idem.getString(1)).doesNotContain(PAN);
        ResultSet row = s.executeQuery("SELECT key_id, aad_version, ciphertext FROM card_payment "
            + "WHERE journal_sequence = " + r.getEntrySequence());
        assertThat(row.next()).isTrue();
        assertThat(row.getString(1)).isEqualTo(node.server.config().cardKeyId());
        assertThat(row.getInt(2)).isEqualTo(CardVault.AAD_VERSION);
        assertThat(new String(row.getBytes(3), StandardCharsets.ISO_8859_1)).doesNotContain(PAN);
        CardVault vault = new CardVault(node.server.config().nodeId(),
            CardKeyring.of(node.server.config().cardKeyId(), node.server.config().cardKey()));
        StoredCard stored = StoredCard.load(c, r.getEntrySequence()).orElseThrow();
        assertThat(stored.entry()).isEqualTo(new CardVault.Entry("cards", "c", r.getEntrySequence()));
        assertThat(vault.open(stored.sealed(), stored.entry())).isEqualTo(card);
        CardVault.Entry next = new CardVault.Entry("cards", "c", r.getEntrySequence() + 1);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> vault.open(stored.sealed(), next)))
            .as("a ciphertext moved to another entry must not decrypt").isNotNull();
      }
    } finally {
      root.detachAppender(logs);
    }
    assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(PAN));
  }

  @Test
  void brand_fromPrefixes() {
    assertThat(CardVault.brand("4111111111111111")).isEqualTo(CardBrand.CARD_BRAND_VISA);
    assertThat(CardVault.brand("2221000000000009")).isEqualTo(CardBrand.CARD_BRAND_MASTERCARD);
    assertThat(CardVault.brand("378282246310005")).isEqualTo(CardBrand.CARD_BRAND_AMEX);
    assertThat(CardVault.brand("6011111111111117")).isEqualTo(CardBrand.CARD_BRAND_DISCOVER);
    assertThat(CardVault.brand("3530111333300000")).isEqualTo(CardBrand.CARD_BRAND_OTHER);
    assertThat(CardVault.luhnValid("4111111111111111")).isTrue();
    assertThat(CardVault.luhnValid("4111111111111121")).isFalse();
  }
}
