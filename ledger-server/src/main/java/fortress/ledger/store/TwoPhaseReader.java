package fortress.ledger.store;

import fortress.ledger.Times;
import fortress.shard.v1.Decision;
import fortress.shard.v1.InDoubtTransaction;
import fortress.shard.v1.ListInDoubtResponse;
import fortress.shard.v1.NodeTotals;
import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Reads of the two-phase commit tables, for GetDecision, ListInDoubt, GetTotals and recovery. */
public final class TwoPhaseReader {
  private static final String DECISION = "SELECT state FROM tpc_coordinator WHERE txid = ?";
  private static final String UNDECIDED_FOR_REQUEST =
      "SELECT txid FROM tpc_coordinator WHERE state = 1 AND tenant_id = ? AND request_id = ?";
  private static final String IN_DOUBT = """
      SELECT * FROM (
        SELECT 1 AS role, c.txid, c.state, c.participant, c.tenant_id, a.account_id, c.amount,
               to_micros(c.created_at) AS created
        FROM tpc_coordinator c JOIN account a ON a.id = c.from_account_ref WHERE c.state IN (1, 3)
        UNION ALL
        SELECT 2, p.txid, p.state, p.coordinator, p.tenant_id, a.account_id, p.amount, to_micros(p.created_at)
        FROM tpc_participant p JOIN account a ON a.id = p.account_ref WHERE p.state = 2
      ) t ORDER BY created LIMIT ?
      """;
  private static final String IN_DOUBT_COUNT = """
      SELECT (SELECT count(*) FROM tpc_coordinator WHERE state IN (1, 3))
           + (SELECT count(*) FROM tpc_participant WHERE state = 2)
      """;
  private static final String ACCOUNT_TOTALS =
      "SELECT count(*), coalesce(sum(balance), 0), coalesce(sum(held), 0) FROM account";
  private static final String JOURNAL_TOTALS = """
      SELECT coalesce(sum(amount) FILTER (WHERE kind = 2), 0),
             coalesce(sum(amount) FILTER (WHERE kind IN (3, 7)), 0),
             coalesce(sum(amount) FILTER (WHERE kind = 4), 0),
             coalesce(sum(amount) FILTER (WHERE kind = 5), 0),
             coalesce(max(sequence), 0)
      FROM journal
      """;
  private static final String IN_FLIGHT = "SELECT coalesce(sum(amount), 0) FROM tpc_coordinator WHERE state = 3";
  private static final String COORDINATOR_UNFINISHED = """
      SELECT txid, state, participant, to_micros(created_at), coalesce(to_micros(decided_at), 0)
      FROM tpc_coordinator WHERE state IN (1, 3) ORDER BY created_at LIMIT ?
      """;
  private static final String PARTICIPANT_PREPARED = """
      SELECT txid, coordinator, to_micros(created_at) FROM tpc_participant WHERE state = 2 ORDER BY created_at LIMIT ?
      """;

  /** An unfinished transaction this node coordinates. */
  public record Unfinished(String txid, TransactionState state, String participant, long createdMicros,
      long decidedMicros) {}

  /** A leg this node prepared and has no decision for yet. */
  public record Prepared(String txid, String coordinator, long createdMicros) {}

  private final DataSource dataSource;

  public TwoPhaseReader(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** What this node, as coordinator, decided; DECISION_UNKNOWN if it never heard of the txid. */
  public Decision decision(String txid) throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(DECISION)) {
      s.setString(1, txid);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return Decision.DECISION_UNKNOWN;
        }
        return switch (TransactionState.forNumber(rs.getInt(1))) {
          case TRANSACTION_STATE_PREPARING -> Decision.DECISION_PENDING;
          case TRANSACTION_STATE_COMMITTED, TRANSACTION_STATE_DONE -> Decision.DECISION_COMMITTED;
          default -> Decision.DECISION_ABORTED;
        };
      }
    }
  }

  /** The txid of a cross-node transfer still being decided for this client request. */
  public Optional<String> undecided(String tenantId, String requestId) throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(UNDECIDED_FOR_REQUEST)) {
      s.setString(1, tenantId);
      s.setString(2, requestId);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  public ListInDoubtResponse inDoubt(String nodeId, int limit) throws SQLException {
    ListInDoubtResponse.Builder out = ListInDoubtResponse.newBuilder();
    try (Connection c = dataSource.getConnection()) {
      try (PreparedStatement s = c.prepareStatement(IN_DOUBT)) {
        s.setInt(1, limit);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            out.addTransactions(InDoubtTransaction.newBuilder()
                .setNodeId(nodeId)
                .setRole(Role.forNumber(rs.getInt(1)))
                .setTxid(rs.getString(2))
                .setState(TransactionState.forNumber(rs.getInt(3)))
                .setPeerNodeId(rs.getString(4))
                .setTenantId(rs.getString(5))
                .setAccountId(rs.getString(6))
                .setAmount(rs.getLong(7))
                .setCreateTime(Times.timestamp(rs.getLong(8))));
          }
        }
      }
      try (PreparedStatement s = c.prepareStatement(IN_DOUBT_COUNT); ResultSet rs = s.executeQuery()) {
        rs.next();
        out.setTotalCount(rs.getLong(1));
      }
    }
    return out.build();
  }

  /** The node's sums, all from one snapshot. */
  public NodeTotals totals(String nodeId) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try {
        NodeTotals.Builder t = NodeTotals.newBuilder().setNodeId(nodeId);
        try (PreparedStatement s = c.prepareStatement(ACCOUNT_TOTALS); ResultSet rs = s.executeQuery()) {
          rs.next();
          t.setAccounts(rs.getLong(1)).setBalance(rs.getLong(2)).setHeld(rs.getLong(3));
        }
        try (PreparedStatement s = c.prepareStatement(JOURNAL_TOTALS); ResultSet rs = s.executeQuery()) {
          rs.next();
          t.setDeposited(rs.getLong(1)).setConsumed(rs.getLong(2)).setTransferDebits(rs.getLong(3))
              .setTransferCredits(rs.getLong(4)).setHeadSequence(rs.getLong(5));
        }
        try (PreparedStatement s = c.prepareStatement(IN_FLIGHT); ResultSet rs = s.executeQuery()) {
          rs.next();
          t.setInFlightCredit(rs.getLong(1));
        }
        return t.build();
      } finally {
        c.rollback();
      }
    }
  }

  public List<Unfinished> unfinished(int limit) throws SQLException {
    List<Unfinished> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(COORDINATOR_UNFINISHED)) {
      s.setInt(1, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(new Unfinished(rs.getString(1), TransactionState.forNumber(rs.getInt(2)), rs.getString(3),
              rs.getLong(4), rs.getLong(5)));
        }
      }
    }
    return out;
  }

  public List<Prepared> prepared(int limit) throws SQLException {
    List<Prepared> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(PARTICIPANT_PREPARED)) {
      s.setInt(1, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(new Prepared(rs.getString(1), rs.getString(2), rs.getLong(3)));
        }
      }
    }
    return out;
  }
}
