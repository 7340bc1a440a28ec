package fortress.ledger.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.ledger.TestNode;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class TamperTest {
  @Test
  void journal_updateDeleteTruncate_refusedByTrigger() throws SQLException {
    try (TestNode node = new TestNode()) {
      node.open("tamper", "a", 10);
      try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
        assertThatThrownBy(() -> s.executeUpdate("UPDATE journal SET amount = 999 WHERE sequence = 2"))
            .hasMessageContaining("append-only");
        assertThatThrownBy(() -> s.executeUpdate("DELETE FROM journal WHERE sequence = 1"))
            .hasMessageContaining("append-only");
        assertThatThrownBy(() -> s.executeUpdate("TRUNCATE journal CASCADE")).hasMessageContaining("append-only");
      }
      assertThat(node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    }
  }

  @Test
  void verifyJournal_rowChangedBySuperuser_namesThatSequence() throws SQLException {
    try (TestNode node = new TestNode()) {
      for (int i = 0; i < 5; i++) {
        node.open("tamper", "acct-" + i, 100 + i);
      }
      long target = 6;
      try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
        s.execute("ALTER TABLE journal DISABLE TRIGGER journal_append_only");
        s.executeUpdate("UPDATE journal SET amount = amount + 1 WHERE sequence = " + target);
        s.execute("ALTER TABLE journal ENABLE TRIGGER journal_append_only");
      }
      VerifyJournalResponse report = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance());
      assertThat(report.getOk()).isFalse();
      assertThat(report.getFirstBadSequence()).isEqualTo(target);
      assertThat(report.getProblem()).contains("entry " + target);
    }
  }

  @Test
  void verifyJournal_rowRehashedWithoutKey_hmacCatchesIt() throws SQLException {
    try (TestNode node = new TestNode()) {
      node.open("tamper", "x", 100);
      node.open("tamper", "y", 100);
      long last = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getEntriesChecked();
      // Forge the last entry with a correct SHA-256 chain, but an attacker cannot make the HMAC.
      Chain attacker = new Chain(TestNode.randomKey());
      try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
        var rs = s.executeQuery("SELECT hash FROM journal WHERE sequence = " + (last - 1));
        rs.next();
        byte[] prev = rs.getBytes(1);
        rs = s.executeQuery("SELECT account_ref, kind, balance_after, held_after, request_id, memo, "
            + "to_micros(created_at) FROM journal WHERE sequence = " + last);
        rs.next();
        long amount = 1_000_000;
        byte[] hash = attacker.hash(prev, last, rs.getLong(1), rs.getInt(2), amount, amount, 0, rs.getString(5),
            null, null, rs.getString(6), rs.getLong(7));
        s.execute("ALTER TABLE journal DISABLE TRIGGER journal_append_only");
        try (var u = c.prepareStatement("UPDATE journal SET amount = ?, balance_after = ?, hash = ?, hmac = ? "
            + "WHERE sequence = ?")) {
          u.setLong(1, amount);
          u.setLong(2, amount);
          u.setBytes(3, hash);
          u.setBytes(4, attacker.hmac(hash));
          u.setLong(5, last);
          u.executeUpdate();
        }
        s.execute("ALTER TABLE journal ENABLE TRIGGER journal_append_only");
      }
      VerifyJournalResponse report = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance());
      assertThat(report.getFirstBadSequence()).isEqualTo(last);
      assertThat(report.getProblem()).contains("HMAC");
    }
  }

  @Test
  void verifyJournal_balanceChangedOutsideJournal_namesAccount() throws SQLException {
    try (TestNode node = new TestNode()) {
      node.open("tamper", "victim", 100);
      try (Connection c = DriverManager.getConnection(node.jdbcUrl); Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE account SET balance = 1000000 WHERE account_id = 'victim'");
      }
      VerifyJournalResponse report = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance());
      assertThat(report.getOk()).isFalse();
      assertThat(report.getMismatchedAccountId()).isEqualTo("victim");
    }
  }
}
