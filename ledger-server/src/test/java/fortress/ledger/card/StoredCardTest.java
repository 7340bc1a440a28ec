package fortress.ledger.card;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.core.store.TestPostgres;
import fortress.ledger.LedgerConfig;
import fortress.ledger.TestNode;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.PaymentCard;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cards as nodes store them in PostgreSQL: a row copied to another node, tenant or account does
 * not open there; cards stored before a key rotation, or in the first associated-data format,
 * still open.
 */
class StoredCardTest {
  private static final String PAN = "5105105105105100";
  private static final PaymentCard CARD = PaymentCard.newBuilder().setNumber(PAN).setExpiryMonth(2)
      .setExpiryYear(2029).setHolderName("Ada Lovelace").build();

  @TempDir
  Path dir;

  private final byte[] journalKey = TestNode.randomKey();
  private final byte[] cardKey = TestNode.randomKey();

  /** A node named {@code nodeId} whose card key is the test's shared one, under id k1. */
  private TestNode node(String nodeId) {
    return new TestNode("card-" + TestNode.id(), new String[] {"--node-id=" + nodeId, "--card-key-id=k1"},
        c -> c.withKeys(journalKey, cardKey), peer -> {
          throw new IllegalStateException("a standalone test node has no peers");
        });
  }

  /** The vault a node builds from its configuration. */
  private static CardVault vault(TestNode node) {
    LedgerConfig c = node.server.config();
    return new CardVault(c.nodeId(), new CardKeyring(c.cardKeyId(), c.cardKey(), c.cardPreviousKeys()));
  }

  /** Opens account tenant/account and deposits CARD on it; returns the deposit's entry sequence. */
  private static long depositCard(TestNode node, String tenant, String account) {
    node.open(tenant, account, 0);
    DepositResponse r = node.stub().deposit(DepositRequest.newBuilder().setRequestId(TestNode.id())
        .setTenantId(tenant).setAccountId(account).setAmount(100).setCard(CARD).build());
    return r.getEntrySequence();
  }

  private static StoredCard load(TestNode node, long sequence) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl)) {
      return StoredCard.load(c, sequence).orElseThrow();
    }
  }

  /** Copies the card row at {@code sequence} from one node's database over the other's. */
  private static void copyCardRow(TestNode from, TestNode to, long sequence) throws SQLException {
    try (Connection source = DriverManager.getConnection(from.jdbcUrl);
        Connection target = DriverManager.getConnection(to.jdbcUrl);
        Statement read = source.createStatement()) {
      var row = read.executeQuery("SELECT key_id, aad_version, nonce, ciphertext FROM card_payment "
          + "WHERE journal_sequence = " + sequence);
      assertThat(row.next()).isTrue();
      try (PreparedStatement write = target.prepareStatement("UPDATE card_payment SET key_id = ?, aad_version = ?, "
          + "nonce = ?, ciphertext = ? WHERE journal_sequence = ?")) {
        write.setString(1, row.getString(1));
        write.setInt(2, row.getInt(2));
        write.setBytes(3, row.getBytes(3));
        write.setBytes(4, row.getBytes(4));
        write.setLong(5, sequence);
        assertThat(write.executeUpdate()).isEqualTo(1);
      }
    }
  }

  /** Asserts the card stored at {@code sequence} on {@code node} does not open there, saying so without the PAN. */
  private static void assertRefused(TestNode node, long sequence) throws SQLException {
    StoredCard moved = load(node, sequence);
    GeneralSecurityException e = catchThrowableOfType(GeneralSecurityException.class,
        () -> vault(node).open(moved.sealed(), moved.entry()));
    assertThat(e).as("a card row moved here must not open").isNotNull();
    assertThat(e.getMessage()).contains("does not open").contains("journal sequence " + sequence)
        .doesNotContain(PAN).doesNotContain("Ada Lovelace");
  }

  /**
   * Deposits a card at the same journal sequence on {@code a} (for {@code tenantA}/{@code accountA})
   * and {@code b} (for {@code tenantB}/{@code accountB}), then copies a's card row over b's; the
   * sequence.
   */
  private static long moveCardRow(TestNode a, String tenantA, String accountA, TestNode b, String tenantB,
      String accountB) throws Exception {
    long sequence = depositCard(a, tenantA, accountA);
    assertThat(depositCard(b, tenantB, accountB)).isEqualTo(sequence);
    copyCardRow(a, b, sequence);
    return sequence;
  }

  @Test
  void open_rowMovedToAnotherNode_refused() throws Exception {
    try (TestNode a = node("ledger-a"); TestNode b = node("ledger-b")) {
      long sequence = moveCardRow(a, "t", "acct", b, "t", "acct");
      StoredCard original = load(a, sequence);
      assertThat(vault(a).open(original.sealed(), original.entry())).isEqualTo(CARD);
      assertRefused(b, sequence);
    }
  }

  @Test
  void open_rowMovedToAnotherTenant_refused() throws Exception {
    // Two nodes with the same name, key and sequences: a copy of one deployment beside another.
    try (TestNode a = node("ledger-1"); TestNode b = node("ledger-1")) {
      assertRefused(b, moveCardRow(a, "tenant-a", "acct", b, "tenant-b", "acct"));
    }
  }

  @Test
  void open_rowMovedToAnotherAccount_refused() throws Exception {
    try (TestNode a = node("ledger-1"); TestNode b = node("ledger-1")) {
      assertRefused(b, moveCardRow(a, "t", "acct-a", b, "t", "acct-b"));
    }
  }

  @Test
  void open_cardSealedBeforeRotation_opensAfterItWithTheOldKeyInThePreviousKeysFile() throws Exception {
    String database;
    long before;
    try (TestNode node = node("ledger-1")) {
      database = node.jdbcUrl;
      before = depositCard(node, "t", "acct");
    }
    // Rotation: a new current key k2; k1 moves to the previous-keys file.
    byte[] k2 = TestNode.randomKey();
    Path previous = Files.write(dir.resolve("card-previous-keys"),
        List.of("# card keys rotated out", "k1 " + Base64.getEncoder().encodeToString(cardKey)));
    try (TestNode node = new TestNode("card-" + TestNode.id(),
        new String[] {"--card-key-id=k2", "--card-previous-keys-file=" + previous},
        c -> c.withJdbc(database, "postgres", "").withKeys(journalKey, k2), peer -> {
          throw new IllegalStateException("a standalone test node has no peers");
        })) {
      long after = depositCard(node, "t", "acct-2");
      StoredCard old = load(node, before);
      StoredCard sealedNow = load(node, after);
      assertThat(old.sealed().keyId()).isEqualTo("k1");
      assertThat(sealedNow.sealed().keyId()).isEqualTo("k2");
      assertThat(vault(node).open(old.sealed(), old.entry())).isEqualTo(CARD);
      assertThat(vault(node).open(sealedNow.sealed(), sealedNow.entry())).isEqualTo(CARD);

      // Without the previous-keys file the old card names a key the node does not hold.
      CardVault withoutK1 = new CardVault("ledger-1", CardKeyring.of("k2", k2));
      GeneralSecurityException e = catchThrowableOfType(GeneralSecurityException.class,
          () -> withoutK1.open(old.sealed(), old.entry()));
      assertThat(e).isNotNull();
      assertThat(e.getMessage()).contains("'k1'").doesNotContain(PAN);
    }
  }

  @Test
  void open_cardStoredInTheFirstFormatBeforeTheMigration_stillOpens() throws Exception {
    String database = TestPostgres.newDatabase();
    Flyway.configure().dataSource(database, "postgres", "").locations("classpath:db/ledger").target("3").load()
        .migrate();
    long sequence = 2;
    byte[] nonce = new byte[12];
    new SecureRandom().nextBytes(nonce);
    try (Connection c = DriverManager.getConnection(database); Statement s = c.createStatement()) {
      s.execute("INSERT INTO account (id, tenant_id, account_id, balance, held, last_sequence, created_at) "
          + "VALUES (1, 't', 'acct', 100, 0, 2, now())");
      s.execute("INSERT INTO journal (sequence, account_ref, kind, amount, balance_after, held_after, memo, "
          + "created_at, hash, hmac) VALUES (1, 1, 1, 0, 0, 0, '', now(), '\\x00', '\\x00'), "
          + "(2, 1, 2, 100, 100, 0, '', now(), '\\x01', '\\x01')");
      // Sealed as the ledger did before version 2: associated data = key id || journal sequence.
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(cardKey, "AES"), new GCMParameterSpec(128, nonce));
      byte[] id = "k1".getBytes(StandardCharsets.UTF_8);
      cipher.updateAAD(ByteBuffer.allocate(id.length + 8).put(id).putLong(sequence).array());
      byte[] ciphertext = cipher.doFinal(CARD.toByteArray());
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO card_payment (journal_sequence, brand, last4, "
          + "key_id, nonce, ciphertext) VALUES (?, 2, '5100', 'k1', ?, ?)")) {
        insert.setLong(1, sequence);
        insert.setBytes(2, nonce);
        insert.setBytes(3, ciphertext);
        insert.executeUpdate();
      }
    }
    Flyway.configure().dataSource(database, "postgres", "").locations("classpath:db/ledger").load().migrate();

    try (Connection c = DriverManager.getConnection(database)) {
      StoredCard stored = StoredCard.load(c, sequence).orElseThrow();
      assertThat(stored.sealed().aadVersion()).isEqualTo(1);
      CardVault rotated = new CardVault("ledger-1",
          new CardKeyring("k2", TestNode.randomKey(), java.util.Map.of("k1", cardKey)));
      assertThat(rotated.open(stored.sealed(), stored.entry())).isEqualTo(CARD);
    }
  }
}
