package fortress.bench;

import fortress.ledger.journal.Chain;
import fortress.ledger.journal.JournalRow;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.VerifyJournalResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * VerifyJournal as it was before issue 18, kept unchanged as a baseline for {@link JournalBench}:
 * JDBC rows in text format, one object per entry, one thread. Walks the whole journal in one
 * snapshot: numbering, the hash chain, each HMAC, and a replay of every entry's effect; finally the
 * replayed balances must equal the live account table.
 */
final class RowByRowVerifier {
  private static final int FETCH_ROWS = 10_000;
  private static final String JOURNAL = """
      SELECT sequence, account_ref, kind, amount, balance_after, held_after, request_id, hold_id, transfer_id, memo,
             to_micros(created_at), hash, hmac
      FROM journal ORDER BY sequence
      """;
  private static final String ACCOUNTS = "SELECT id, account_id, balance, held FROM account ORDER BY id";

  private final DataSource dataSource;
  private final byte[] key;

  RowByRowVerifier(DataSource dataSource, byte[] key) {
    this.dataSource = dataSource;
    this.key = key.clone();
  }

  VerifyJournalResponse verify() throws SQLException {
    Chain chain = new Chain(key);
    Map<Long, long[]> replayed = new HashMap<>();
    VerifyJournalResponse.Builder report = VerifyJournalResponse.newBuilder();
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try {
        long checked = walk(c, chain, replayed, report);
        report.setEntriesChecked(checked);
        if (report.getFirstBadSequence() == 0) {
          compareAccounts(c, replayed, report);
        }
      } finally {
        c.rollback();
      }
    }
    return report.setOk(report.getFirstBadSequence() == 0 && report.getMismatchedAccountId().isEmpty()).build();
  }

  private static long walk(Connection c, Chain chain, Map<Long, long[]> replayed,
      VerifyJournalResponse.Builder report) throws SQLException {
    byte[] prev = Chain.GENESIS;
    long expected = 1;
    try (PreparedStatement s = c.prepareStatement(JOURNAL)) {
      s.setFetchSize(FETCH_ROWS);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          JournalRow row = new JournalRow(rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getLong(4), rs.getLong(5),
              rs.getLong(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10), rs.getLong(11),
              rs.getBytes(12), rs.getBytes(13));
          String problem = check(chain, prev, expected, row, replayed);
          if (problem != null) {
            report.setFirstBadSequence(row.sequence()).setProblem(problem);
            return expected;
          }
          prev = row.hash();
          expected++;
        }
      }
    }
    return expected - 1;
  }

  private static String check(Chain chain, byte[] prev, long expected, JournalRow row, Map<Long, long[]> replayed) {
    if (row.sequence() != expected) {
      return "sequence " + expected + " is missing (next entry is " + row.sequence() + ")";
    }
    if (!Arrays.equals(chain.hash(prev, row), row.hash())) {
      return "entry " + row.sequence() + " does not match its hash: its contents or its predecessor changed";
    }
    if (!Arrays.equals(chain.hmac(row.hash()), row.hmac())) {
      return "entry " + row.sequence() + " has an HMAC not made with this node's key";
    }
    long[] state = replayed.computeIfAbsent(row.accountRef(), k -> new long[2]);
    long balance = state[0];
    long held = state[1];
    long a = row.amount();
    switch (EntryKind.forNumber(row.kind())) {
      case ENTRY_KIND_ACCOUNT_CREATED -> { }
      case ENTRY_KIND_DEPOSIT, ENTRY_KIND_TRANSFER_CREDIT -> balance += a;
      case ENTRY_KIND_CONSUME, ENTRY_KIND_TRANSFER_DEBIT -> balance -= a;
      case ENTRY_KIND_HOLD_CREATED -> held += a;
      case ENTRY_KIND_HOLD_CAPTURED -> {
        balance -= a;
        held -= a;
      }
      case ENTRY_KIND_HOLD_RELEASED, ENTRY_KIND_HOLD_EXPIRED -> held -= a;
      default -> {
        return "entry " + row.sequence() + " has unknown kind " + row.kind();
      }
    }
    if (balance != row.balanceAfter() || held != row.heldAfter()) {
      return "entry " + row.sequence() + " records balance " + row.balanceAfter() + "/held " + row.heldAfter()
          + " but replay gives " + balance + "/" + held;
    }
    if (balance < 0 || held < 0 || held > balance) {
      return "entry " + row.sequence() + " leaves a negative available balance";
    }
    state[0] = balance;
    state[1] = held;
    return null;
  }

  private static void compareAccounts(Connection c, Map<Long, long[]> replayed, VerifyJournalResponse.Builder report)
      throws SQLException {
    long accounts = 0;
    try (PreparedStatement s = c.prepareStatement(ACCOUNTS)) {
      s.setFetchSize(FETCH_ROWS);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          accounts++;
          long[] state = replayed.remove(rs.getLong(1));
          if (state == null || state[0] != rs.getLong(3) || state[1] != rs.getLong(4)) {
            report.setMismatchedAccountId(rs.getString(2)).setProblem("account " + rs.getString(2)
                + " holds balance " + rs.getLong(3) + "/held " + rs.getLong(4) + " but the journal replays to "
                + (state == null ? "nothing" : state[0] + "/" + state[1]));
            break;
          }
        }
      }
    }
    if (report.getMismatchedAccountId().isEmpty() && !replayed.isEmpty()) {
      report.setMismatchedAccountId("#" + replayed.keySet().iterator().next())
          .setProblem("the journal has entries for an account missing from the account table");
    }
    report.setAccountsChecked(accounts);
  }
}
