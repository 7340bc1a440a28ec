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
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Reads of the two-phase commit tables and of the idempotency records, for GetDecision,
 * GetOperation, recovery, ListInDoubt and GetTotals; each answer comes from one statement or one
 * snapshot.
 */
public final class TwoPhaseReader implements Records {
  private static final String DECISION = "SELECT state FROM tpc_coordinator WHERE txid = ?";
  /**
   * The record of a request_id in its scope, or else the undecided transfer using it, in one
   * statement: a decision that lands meanwhile is seen either as one or as the other, never as
   * neither. The scope is the account given, or the account of the tenant's hold given.
   */
  private static final String LOOK_UP = Sql.expand("""
      WITH scope AS (
        SELECT a.id, a.account_id FROM account a WHERE a.tenant_id = ? AND a.account_id = ?
        UNION ALL
        SELECT a.id, a.account_id FROM hold h JOIN account a ON a.id = h.account_ref
        WHERE h.hold_id = ? AND a.tenant_id = ?
      )
      SELECT i.kind, i.response, to_micros(i.created_at), NULL
      FROM idempotency i JOIN scope s ON i.account_id = s.account_id
      WHERE i.tenant_id = ? AND i.request_id = ?
      UNION ALL
      SELECT NULL, NULL, NULL, c.txid
      FROM tpc_coordinator c JOIN scope s ON c.from_account_ref = s.id
      WHERE c.state = {TRANSACTION_STATE_PREPARING} AND c.tenant_id = ? AND c.request_id = ?
      """);
  /** The same on any account of the tenant, for a lookup that names no scope. */
  private static final String LOOK_UP_ANY = Sql.expand("""
      SELECT i.kind, i.response, to_micros(i.created_at), NULL FROM idempotency i
      WHERE i.tenant_id = ? AND i.request_id = ?
      UNION ALL
      SELECT NULL, NULL, NULL, c.txid FROM tpc_coordinator c
      WHERE c.state = {TRANSACTION_STATE_PREPARING} AND c.tenant_id = ? AND c.request_id = ?
      """);
  private static final String IN_DOUBT = Sql.expand("""
      SELECT * FROM (
        SELECT 1 AS role, c.txid, c.state, c.participant, c.tenant_id, a.account_id, c.amount,
               to_micros(c.created_at) AS created, to_micros(c.decided_at) AS decided
        FROM tpc_coordinator c JOIN account a ON a.id = c.from_account_ref
        WHERE c.state IN ({TRANSACTION_STATE_PREPARING}, {TRANSACTION_STATE_COMMITTED})
        UNION ALL
        SELECT 2, p.txid, p.state, p.coordinator, p.tenant_id, a.account_id, p.amount, to_micros(p.created_at), NULL
        FROM tpc_participant p JOIN account a ON a.id = p.account_ref
        WHERE p.state = {TRANSACTION_STATE_PREPARED}
      ) t ORDER BY created LIMIT ?
      """);
  private static final String IN_DOUBT_COUNT = Sql.expand("""
      SELECT (SELECT count(*) FROM tpc_coordinator
              WHERE state IN ({TRANSACTION_STATE_PREPARING}, {TRANSACTION_STATE_COMMITTED}))
           + (SELECT count(*) FROM tpc_participant WHERE state = {TRANSACTION_STATE_PREPARED}),
             (SELECT count(*) FROM tpc_coordinator
              WHERE state = {TRANSACTION_STATE_COMMITTED} AND decided_at < from_micros(?))
      """);
  private static final String ACCOUNT_TOTALS =
      "SELECT count(*), coalesce(sum(balance), 0), coalesce(sum(held), 0) FROM account";
  private static final String JOURNAL_TOTALS = Sql.expand("""
      SELECT coalesce(sum(amount) FILTER (WHERE kind = {ENTRY_KIND_DEPOSIT}), 0),
             coalesce(sum(amount) FILTER (WHERE kind IN ({ENTRY_KIND_CONSUME}, {ENTRY_KIND_HOLD_CAPTURED})), 0),
             coalesce(sum(amount) FILTER (WHERE kind = {ENTRY_KIND_TRANSFER_DEBIT}), 0),
             coalesce(sum(amount) FILTER (WHERE kind = {ENTRY_KIND_TRANSFER_CREDIT}), 0),
             coalesce(max(sequence), 0)
      FROM journal
      """);
  /**
   * Committed credits not acknowledged: within the bound (in flight), and past it (overdue). The
   * array holds the txids acknowledged but not yet recorded DONE.
   */
  private static final String IN_FLIGHT = Sql.expand("""
      SELECT coalesce(sum(amount) FILTER (WHERE decided_at >= from_micros(?)), 0),
             coalesce(sum(amount) FILTER (WHERE decided_at < from_micros(?)), 0)
      FROM tpc_coordinator WHERE state = {TRANSACTION_STATE_COMMITTED} AND txid <> ALL (?)
      """);
  private static final Map<Pending.Kind, String> PENDING = new EnumMap<>(Pending.Kind.class);
  private static final String BACKLOG = Sql.expand("""
      SELECT (SELECT count(*) FROM tpc_coordinator WHERE state = {TRANSACTION_STATE_PREPARING}),
             (SELECT count(*) FROM tpc_coordinator WHERE state = {TRANSACTION_STATE_COMMITTED}),
             (SELECT count(*) FROM tpc_participant WHERE state = {TRANSACTION_STATE_PREPARED}),
             (SELECT count(*) FROM tpc_coordinator
              WHERE state = {TRANSACTION_STATE_COMMITTED} AND decided_at < from_micros(?)),
             coalesce(to_micros(least(
               (SELECT min(created_at) FROM tpc_coordinator
                WHERE state IN ({TRANSACTION_STATE_PREPARING}, {TRANSACTION_STATE_COMMITTED})),
               (SELECT min(created_at) FROM tpc_participant WHERE state = {TRANSACTION_STATE_PREPARED}))), 0)
      """);

  static {
    String page = """
        SELECT txid, %2$s, to_micros(%3$s) FROM %1$s
        WHERE state = {%4$s} AND %3$s < from_micros(?) AND (%3$s, txid) > (from_micros(?), ?)
        ORDER BY %3$s, txid LIMIT ?
        """;
    PENDING.put(Pending.Kind.PREPARING, Sql.expand(page.formatted("tpc_coordinator", "participant", "created_at",
        "TRANSACTION_STATE_PREPARING")));
    PENDING.put(Pending.Kind.COMMITTED, Sql.expand(page.formatted("tpc_coordinator", "participant", "decided_at",
        "TRANSACTION_STATE_COMMITTED")));
    PENDING.put(Pending.Kind.PREPARED, Sql.expand(page.formatted("tpc_participant", "coordinator", "created_at",
        "TRANSACTION_STATE_PREPARED")));
  }

  private final DataSource dataSource;

  public TwoPhaseReader(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
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

  @Override
  public Lookup lookUp(String tenantId, String accountId, String holdId, String requestId) throws SQLException {
    boolean scoped = accountId != null || holdId != null;
    try (Connection c = dataSource.getConnection();
         PreparedStatement s = c.prepareStatement(scoped ? LOOK_UP : LOOK_UP_ANY)) {
      int i = 1;
      if (scoped) {
        s.setString(i++, tenantId);
        s.setString(i++, accountId);
        s.setString(i++, accountId == null ? holdId : null);
        s.setString(i++, tenantId);
      }
      s.setString(i++, tenantId);
      s.setString(i++, requestId);
      s.setString(i++, tenantId);
      s.setString(i, requestId);
      List<Lookup> found = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          found.add(rs.getString(4) == null ? Lookup.found(requestId, rs.getInt(1), rs.getBytes(2), rs.getLong(3))
              : new Lookup.InProgress(rs.getString(4)));
        }
      }
      return Lookup.of(found);
    }
  }

  @Override
  public List<Pending> pending(Pending.Kind kind, Pending.Cursor after, long beforeMicros, int limit)
      throws SQLException {
    List<Pending> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(PENDING.get(kind))) {
      s.setLong(1, beforeMicros);
      s.setLong(2, Math.max(after.clockMicros(), 0));
      s.setString(3, after.txid());
      s.setInt(4, limit);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(new Pending(rs.getString(1), rs.getString(2), rs.getLong(3)));
        }
      }
    }
    return out;
  }

  @Override
  public Backlog backlog(long overdueMicros) throws SQLException {
    try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(BACKLOG)) {
      s.setLong(1, overdueMicros);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return new Backlog(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5));
      }
    }
  }

  /** Up to {@code limit} unfinished transactions, oldest first; committed ones decided before {@code overdueMicros} are overdue. */
  public ListInDoubtResponse inDoubt(String nodeId, int limit, long overdueMicros) throws SQLException {
    ListInDoubtResponse.Builder out = ListInDoubtResponse.newBuilder();
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try {
        try (PreparedStatement s = c.prepareStatement(IN_DOUBT)) {
          s.setInt(1, limit);
          try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
              InDoubtTransaction.Builder t = InDoubtTransaction.newBuilder()
                  .setNodeId(nodeId)
                  .setRole(Role.forNumber(rs.getInt(1)))
                  .setTxid(rs.getString(2))
                  .setState(TransactionState.forNumber(rs.getInt(3)))
                  .setPeerNodeId(rs.getString(4))
                  .setTenantId(rs.getString(5))
                  .setAccountId(rs.getString(6))
                  .setAmount(rs.getLong(7))
                  .setCreateTime(Times.timestamp(rs.getLong(8)));
              long decided = rs.getLong(9);
              if (!rs.wasNull()) {
                t.setDecideTime(Times.timestamp(decided));
                t.setOverdue(t.getState() == TransactionState.TRANSACTION_STATE_COMMITTED && decided < overdueMicros);
              }
              out.addTransactions(t);
            }
          }
        }
        try (PreparedStatement s = c.prepareStatement(IN_DOUBT_COUNT)) {
          s.setLong(1, overdueMicros);
          try (ResultSet rs = s.executeQuery()) {
            rs.next();
            out.setTotalCount(rs.getLong(1)).setOverdueCount(rs.getLong(2));
          }
        }
      } finally {
        c.rollback();
      }
    }
    return out.build();
  }

  /** The node's sums, all from one snapshot; committed credits decided before {@code overdueMicros} are overdue. */
  /**
   * The node's totals from one snapshot. {@code acknowledged} are committed transactions whose
   * participant has acknowledged the credit though their row still says COMMITTED (the DONE record
   * is on its way): the credit is in the participant's balance, so it is not counted in flight.
   * Read the set before calling; a txid acknowledged after that is counted in flight one more time.
   */
  public NodeTotals totals(String nodeId, long overdueMicros, Collection<String> acknowledged) throws SQLException {
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
        try (PreparedStatement s = c.prepareStatement(IN_FLIGHT)) {
          s.setLong(1, overdueMicros);
          s.setLong(2, overdueMicros);
          s.setArray(3, c.createArrayOf("text", acknowledged.toArray()));
          try (ResultSet rs = s.executeQuery()) {
            rs.next();
            t.setInFlightCredit(rs.getLong(1)).setOverdueCredit(rs.getLong(2));
          }
        }
        return t.build();
      } finally {
        c.rollback();
      }
    }
  }
}
