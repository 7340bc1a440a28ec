package fortress.ledger.store;

import static fortress.ledger.Times.timestamp;

import com.google.protobuf.ByteString;
import fortress.ledger.Accounts;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.Entry;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.write.AccountRow;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/** The node's reads. They use their own pool and never wait for the writer. */
public final class LedgerReader {
  private static final String ACCOUNT = """
      SELECT id, balance, held, last_sequence, to_micros(created_at) FROM account WHERE tenant_id = ? AND account_id = ?
      """;
  private static final String AS_OF = """
      SELECT sequence, balance_after, held_after FROM journal
      WHERE account_ref = ? AND sequence <= ? ORDER BY sequence DESC LIMIT 1
      """;
  private static final String HEAD = "SELECT coalesce(max(sequence), 0) FROM journal";
  private static final String RECENT_ACCOUNTS = """
      SELECT * FROM (
        SELECT id, tenant_id, account_id, balance, held, last_sequence, to_micros(created_at)
        FROM account ORDER BY last_sequence DESC LIMIT ?
      ) recent ORDER BY last_sequence
      """;
  private static final int RECENT_ACCOUNTS_FETCH_SIZE = 10_000;
  private static final String ENTRIES = """
      SELECT sequence, kind, amount, balance_after, held_after, request_id, hold_id, transfer_id, memo,
             to_micros(created_at), hash
      FROM journal WHERE account_ref = ? AND sequence > ? AND (cardinality(?::smallint[]) = 0 OR kind = ANY(?::smallint[]))
      ORDER BY sequence LIMIT ?
      """;

  /** An account's key in this node and its current state. */
  public record Found(long ref, Account account) {}

  private final DataSource dataSource;

  public LedgerReader(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  public Optional<Found> account(String tenantId, String accountId) throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(ACCOUNT)) {
      s.setString(1, tenantId);
      s.setString(2, accountId);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Found(rs.getLong(1), Accounts.proto(tenantId, accountId, rs.getLong(2), rs.getLong(3),
            rs.getLong(4), rs.getLong(5))));
      }
    }
  }

  /** The account as it stood after {@code sequence}; empty if it had no entry by then. */
  public Optional<Account> accountAsOf(Found found, long sequence) throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(AS_OF)) {
      s.setLong(1, found.ref());
      s.setLong(2, sequence);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        Account now = found.account();
        return Optional.of(now.toBuilder()
            .setSequence(rs.getLong(1))
            .setBalance(rs.getLong(2))
            .setHeld(rs.getLong(3))
            .setAvailable(rs.getLong(2) - rs.getLong(3))
            .build());
      }
    }
  }

  /**
   * The {@code limit} accounts changed last, the oldest of them first, streamed to {@code each}
   * from one snapshot; returns how many. For rebuilding the account view before the writer runs.
   */
  public int recentAccounts(int limit, Consumer<AccountRow> each) throws SQLException {
    int n = 0;
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false); // so the driver streams the rows with a cursor
      try (PreparedStatement s = c.prepareStatement(RECENT_ACCOUNTS)) {
        s.setFetchSize(RECENT_ACCOUNTS_FETCH_SIZE);
        s.setInt(1, limit);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            each.accept(new AccountRow(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
                rs.getLong(6), rs.getLong(7)));
            n++;
          }
        }
      } finally {
        c.rollback();
      }
    }
    return n;
  }

  /** The last journal sequence; 0 for an empty journal. */
  public long headSequence() throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(HEAD);
         ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Up to {@code limit} entries of the account after {@code afterSequence}, in order. */
  public List<Entry> entries(Found found, long afterSequence, short[] kinds, int limit) throws SQLException {
    List<Entry> out = new ArrayList<>(Math.min(limit, 1024));
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(ENTRIES)) {
      s.setLong(1, found.ref());
      s.setLong(2, afterSequence);
      s.setArray(3, c.unwrap(PGConnection.class).createArrayOf("int2", kinds));
      s.setArray(4, c.unwrap(PGConnection.class).createArrayOf("int2", kinds));
      s.setInt(5, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(Entry.newBuilder()
              .setSequence(rs.getLong(1))
              .setAccountId(found.account().getAccountId())
              .setKind(EntryKind.forNumber(rs.getInt(2)))
              .setAmount(rs.getLong(3))
              .setBalanceAfter(rs.getLong(4))
              .setHeldAfter(rs.getLong(5))
              .setRequestId(nullToEmpty(rs.getString(6)))
              .setHoldId(nullToEmpty(rs.getString(7)))
              .setTransferId(nullToEmpty(rs.getString(8)))
              .setMemo(rs.getString(9))
              .setCreateTime(timestamp(rs.getLong(10)))
              .setHash(ByteString.copyFrom(rs.getBytes(11)))
              .build());
        }
      }
    }
    return out;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
