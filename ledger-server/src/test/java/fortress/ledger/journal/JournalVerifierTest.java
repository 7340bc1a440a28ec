package fortress.ledger.journal;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.TestNode;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * VerifyJournal over journals longer than one chunk of {@link EntryChunk#ROWS_MAX} entries, whose
 * hashes are checked on several threads: the first bad entry is still the one reported, at a chunk
 * boundary, at the very end, and when later entries are bad too.
 */
class JournalVerifierTest {
  private static final String TENANT = "verify";
  private static final int ACCOUNTS = 300;
  private static final int BOUNDARY = EntryChunk.ROWS_MAX;

  @Test
  void verifyJournal_severalChunksOnOneToThreeThreads_ok() throws SQLException {
    for (int threads = 1; threads <= 3; threads++) {
      try (TestNode node = node(threads)) {
        long entries = fill(node);
        VerifyJournalResponse report = verify(node);
        assertThat(report.getOk()).as(report.toString()).isTrue();
        assertThat(report.getEntriesChecked()).isEqualTo(entries).isGreaterThan(BOUNDARY + 1);
        assertThat(report.getAccountsChecked()).isEqualTo(ACCOUNTS);
      }
    }
  }

  @Test
  void verifyJournal_entryChangedEitherSideOfChunkBoundary_namesThatEntry() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      for (long target : new long[] {BOUNDARY, BOUNDARY + 1}) {
        tamper(node, "UPDATE journal SET amount = amount + 1 WHERE sequence = " + target);
        VerifyJournalResponse report = verify(node);
        assertThat(report.getFirstBadSequence()).as(report.toString()).isEqualTo(target);
        assertThat(report.getEntriesChecked()).isEqualTo(target);
        assertThat(report.getProblem()).isEqualTo("entry " + target
            + " does not match its hash: its contents or its predecessor changed");
        tamper(node, "UPDATE journal SET amount = amount - 1 WHERE sequence = " + target);
        assertThat(verify(node).getOk()).isTrue();
      }
    }
  }

  @Test
  void verifyJournal_hmacOrHashReplacedAtChunkBoundary_namesThatEntry() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      tamper(node, "UPDATE journal SET hmac = sha256(hmac) WHERE sequence = " + BOUNDARY);
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(BOUNDARY);
      assertThat(report.getProblem()).contains("HMAC");
      // A stored hash of the wrong length breaks its own entry and the next one's link: the first is named.
      tamper(node, "UPDATE journal SET hash = '\\x00'::bytea WHERE sequence = " + (BOUNDARY - 1));
      report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(BOUNDARY - 1);
      assertThat(report.getProblem()).contains("does not match its hash");
    }
  }

  @Test
  void verifyJournal_lastEntryChanged_namesIt() throws SQLException {
    try (TestNode node = node(2)) {
      long last = fill(node);
      tamper(node, "UPDATE journal SET memo = memo || '!' WHERE sequence = " + last);
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(last);
      assertThat(report.getEntriesChecked()).isEqualTo(last);
    }
  }

  @Test
  void verifyJournal_twoEntriesChanged_namesTheLower() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      tamper(node, "UPDATE journal SET amount = amount + 1 WHERE sequence IN (100, " + (BOUNDARY + 400) + ")");
      assertThat(verify(node).getFirstBadSequence()).isEqualTo(100);
    }
  }

  @Test
  void verifyJournal_replayBreaksBeforeALaterBrokenHash_namesTheReplay() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      // Forged with the node's key, so only the replay can tell.
      forge(node, 300, "amount = amount + 1");
      tamper(node, "UPDATE journal SET amount = amount + 1 WHERE sequence = " + (BOUNDARY + 100));
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(300);
      assertThat(report.getProblem()).contains("entry 300 records balance").contains("but replay gives");
    }
  }

  @Test
  void verifyJournal_hashBreaksBeforeALaterBrokenReplay_namesTheHash() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      forge(node, BOUNDARY + 100, "amount = amount + 1");
      tamper(node, "UPDATE journal SET amount = amount + 1 WHERE sequence = 300");
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(300);
      assertThat(report.getProblem()).contains("does not match its hash");
    }
  }

  @Test
  void verifyJournal_unknownKindForgedWithKey_namesIt() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      forge(node, 700, "kind = 99");
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(700);
      assertThat(report.getProblem()).isEqualTo("entry 700 has unknown kind 99");
    }
  }

  @Test
  void verifyJournal_entryDeleted_namesTheGap() throws SQLException {
    try (TestNode node = node(2)) {
      fill(node);
      tamper(node, "DELETE FROM journal WHERE sequence = " + BOUNDARY);
      VerifyJournalResponse report = verify(node);
      assertThat(report.getFirstBadSequence()).isEqualTo(BOUNDARY + 1);
      assertThat(report.getProblem()).isEqualTo("sequence " + BOUNDARY + " is missing (next entry is "
          + (BOUNDARY + 1) + ")");
    }
  }

  private static TestNode node(int threads) {
    return new TestNode("ledger-test-" + TestNode.id(), new String[] {"--journal-verify-threads=" + threads},
        c -> c, peer -> {
          throw new IllegalStateException("a standalone test node has no peers");
        });
  }

  private static VerifyJournalResponse verify(TestNode node) {
    return node.stub().verifyJournal(VerifyJournalRequest.getDefaultInstance());
  }

  /**
   * Writes a little over one chunk and a half of entries through SubmitBatch: openings, deposits
   * with non-ASCII memos, transfers and holds. Returns the last sequence.
   */
  private static long fill(TestNode node) throws SQLException {
    SubmitBatchRequest.Builder open = SubmitBatchRequest.newBuilder();
    for (int i = 0; i < ACCOUNTS; i++) {
      open.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
          .setRequestId(TestNode.id()).setTenantId(TENANT).setAccountId("a" + i)));
      open.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
          .setRequestId(TestNode.id()).setTenantId(TENANT).setAccountId("a" + i).setAmount(1_000_000)
          .setMemo("dépôt ✓ " + i)));
    }
    node.stub().submitBatch(open.build());
    for (int round = 0; round < 3; round++) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      for (int i = 0; i < 900; i++) {
        batch.addOperations(BatchOperation.newBuilder().setTransfer(TransferRequest.newBuilder()
            .setRequestId(TestNode.id()).setTenantId(TENANT).setFromAccountId("a" + (i % ACCOUNTS))
            .setToAccountId("a" + (i + 1 + round) % ACCOUNTS).setAmount(1 + i % 50)));
      }
      for (int i = 0; i < 100; i++) {
        batch.addOperations(BatchOperation.newBuilder().setCreateHold(CreateHoldRequest.newBuilder()
            .setRequestId(TestNode.id()).setTenantId(TENANT).setAccountId("a" + i).setAmount(5)
            .setTimeoutSeconds(3_600)));
      }
      node.stub().submitBatch(batch.build());
    }
    try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT max(sequence) FROM journal")) {
      rs.next();
      assertThat(rs.getLong(1)).isGreaterThan(BOUNDARY + 500);
      return rs.getLong(1);
    }
  }

  /** Runs a statement on the journal as a superuser who switched its append-only trigger off. */
  private static void tamper(TestNode node, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
      s.execute("ALTER TABLE journal DISABLE TRIGGER journal_append_only");
      s.executeUpdate(sql);
      s.execute("ALTER TABLE journal ENABLE TRIGGER journal_append_only");
    }
  }

  /**
   * Changes entry {@code sequence} as someone holding the node's key would: then re-hashes and
   * re-signs it and every later entry, so the chain and every HMAC hold and only the replay can
   * find the change.
   */
  private static void forge(TestNode node, long sequence, String set) throws SQLException {
    tamper(node, "UPDATE journal SET " + set + " WHERE sequence = " + sequence);
    Chain chain = new Chain(node.server.config().journalKey());
    try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
      s.execute("ALTER TABLE journal DISABLE TRIGGER journal_append_only");
      ResultSet prev = s.executeQuery("SELECT hash FROM journal WHERE sequence = " + (sequence - 1));
      prev.next();
      byte[] previous = prev.getBytes(1);
      try (PreparedStatement read = c.prepareStatement("SELECT sequence, account_ref, kind, amount, balance_after, "
          + "held_after, request_id, hold_id, transfer_id, memo, to_micros(created_at) FROM journal "
          + "WHERE sequence >= ? ORDER BY sequence");
          PreparedStatement write = c.prepareStatement("UPDATE journal SET hash = ?, hmac = ? WHERE sequence = ?")) {
        read.setLong(1, sequence);
        ResultSet rs = read.executeQuery();
        while (rs.next()) {
          byte[] hash = chain.hash(previous, rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getLong(4), rs.getLong(5),
              rs.getLong(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10), rs.getLong(11));
          write.setBytes(1, hash);
          write.setBytes(2, chain.hmac(hash));
          write.setLong(3, rs.getLong(1));
          write.addBatch();
          previous = hash;
        }
        write.executeBatch();
      }
      s.execute("ALTER TABLE journal ENABLE TRIGGER journal_append_only");
    }
  }
}
