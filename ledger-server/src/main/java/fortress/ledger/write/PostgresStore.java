package fortress.ledger.write;

import fortress.ledger.journal.Chain;
import fortress.ledger.journal.JournalRow;
import fortress.ledger.store.Sql;
import fortress.ledger.twopc.CoordinatorRow;
import fortress.ledger.twopc.ParticipantRow;
import fortress.ledger.v1.HoldState;
import fortress.shard.v1.TransactionState;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The writer's SQL. Loading a batch takes at most seven queries; writing it takes at most three
 * statements, whatever the batch size: a binary COPY of its journal entries, one statement of
 * data-modifying CTEs for everything else but idempotency records (rows passed as arrays through
 * {@code unnest}), and a binary COPY of its idempotency records. Not thread-safe: owned by the
 * writer thread, which reuses one COPY buffer from batch to batch.
 */
public final class PostgresStore implements Store {
  private static final String ACCOUNT_COLUMNS =
      "a.id, a.tenant_id, a.account_id, a.balance, a.held, a.last_sequence, to_micros(a.created_at)";
  private static final String HOLD_COLUMNS =
      "h.hold_id, h.amount, h.captured, h.state, to_micros(h.expire_at), h.request_id, to_micros(h.created_at), "
          + "to_micros(h.resolved_at), h.txid, " + ACCOUNT_COLUMNS;
  private static final String COORDINATOR_COLUMNS =
      "c.txid, c.state, c.participant, c.tenant_id, c.request_id, c.request_hash, c.to_account_id, c.amount, c.memo, "
          + "to_micros(c.created_at), to_micros(c.decided_at), to_micros(c.done_at), " + ACCOUNT_COLUMNS;

  private static final String LOAD_ACCOUNTS = """
      SELECT %s
      FROM account a JOIN unnest(?::text[], ?::text[]) AS k(tenant_id, account_id) USING (tenant_id, account_id)
      """.formatted(ACCOUNT_COLUMNS);
  private static final String LOAD_HOLDS = """
      SELECT %s FROM hold h JOIN account a ON a.id = h.account_ref WHERE h.hold_id = ANY(?::text[])
      """.formatted(HOLD_COLUMNS);
  private static final String LOAD_DUE_HOLDS = Sql.expand("""
      SELECT %s FROM hold h JOIN account a ON a.id = h.account_ref
      WHERE h.state = {HOLD_STATE_ACTIVE} AND h.expire_at <= from_micros(?) ORDER BY h.expire_at LIMIT ?
      """.formatted(HOLD_COLUMNS));
  /** Transactions named by txid (a tombstone has no account). */
  private static final String LOAD_COORDINATORS = """
      SELECT %s FROM tpc_coordinator c LEFT JOIN account a ON a.id = c.from_account_ref WHERE c.txid = ANY(?::text[])
      """.formatted(COORDINATOR_COLUMNS);
  /**
   * Undecided transactions using the operations' request_ids: a probe of the partial index on
   * PREPARING rows per request, however many transactions the table holds.
   */
  private static final String LOAD_UNDECIDED = Sql.expand("""
      SELECT %s FROM unnest(?::text[], ?::text[]) AS k(tenant_id, request_id)
      JOIN tpc_coordinator c ON c.tenant_id = k.tenant_id AND c.request_id = k.request_id
                             AND c.state = {TRANSACTION_STATE_PREPARING}
      JOIN account a ON a.id = c.from_account_ref
      """.formatted(COORDINATOR_COLUMNS));
  private static final String LOAD_PARTICIPANTS = """
      SELECT p.txid, p.state, p.coordinator, p.tenant_id, p.amount, p.request_id, p.memo, p.entry_sequence,
             to_micros(p.created_at), to_micros(p.resolved_at), %s
      FROM tpc_participant p LEFT JOIN account a ON a.id = p.account_ref WHERE p.txid = ANY(?::text[])
      """.formatted(ACCOUNT_COLUMNS);
  /** Every record of the requests' (tenant, request_id), on whichever account each is scoped to. */
  private static final String LOAD_IDEMPOTENCY = """
      SELECT i.tenant_id, i.account_id, i.request_id, i.kind, i.request_hash, i.response, to_micros(i.created_at)
      FROM idempotency i JOIN unnest(?::text[], ?::text[]) AS k(tenant_id, request_id) USING (tenant_id, request_id)
      """;
  private static final String LOAD_HEAD = """
      SELECT (SELECT coalesce(max(id), 0) FROM account),
             (SELECT sequence FROM journal ORDER BY sequence DESC LIMIT 1),
             (SELECT hash FROM journal ORDER BY sequence DESC LIMIT 1)
      """;

  /** The journal entries of a batch, in binary COPY format (see {@link BinaryCopy}). */
  private static final String COPY_JOURNAL = """
      COPY journal (sequence, account_ref, kind, amount, balance_after, held_after, request_id, hold_id, transfer_id,
                    memo, created_at, hash, hmac) FROM STDIN (FORMAT binary)
      """;
  private static final int JOURNAL_FIELDS = 13;
  /** The idempotency records of a batch, in binary COPY format. */
  private static final String COPY_IDEMPOTENCY = """
      COPY idempotency (tenant_id, account_id, request_id, kind, request_hash, response, created_at)
      FROM STDIN (FORMAT binary)
      """;
  private static final int IDEMPOTENCY_FIELDS = 7;

  /**
   * Everything else a batch writes, as one statement of data-modifying CTEs: one round trip
   * whatever the batch holds. Each CTE takes its rows as arrays (empty arrays write nothing);
   * foreign keys are checked at the end of the statement, when every CTE has run. The journal
   * entries it refers to (a card's) are copied in before it.
   */
  private static final String WRITE = """
      WITH new_accounts AS (
        INSERT INTO account (id, tenant_id, account_id, balance, held, last_sequence, created_at)
        SELECT v.id, v.t, v.a, v.b, v.h, v.s, from_micros(v.c)
        FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
          AS v(id, t, a, b, h, s, c)
      ), changed_accounts AS (
        UPDATE account a SET balance = v.b, held = v.h, last_sequence = v.s
        FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) AS v(id, b, h, s)
        WHERE a.id = v.id
      ), holds AS (
        INSERT INTO hold (hold_id, account_ref, amount, captured, state, expire_at, request_id, created_at,
                          resolved_at, txid)
        SELECT v.id, v.a, v.am, v.cap, v.st, from_micros(v.e), v.r, from_micros(v.c), from_micros(v.rs), v.tx
        FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::smallint[], ?::bigint[], ?::text[],
                    ?::bigint[], ?::bigint[], ?::text[]) AS v(id, a, am, cap, st, e, r, c, rs, tx)
        ON CONFLICT (hold_id) DO UPDATE
          SET captured = EXCLUDED.captured, state = EXCLUDED.state, resolved_at = EXCLUDED.resolved_at
      ), coordinators AS (
        INSERT INTO tpc_coordinator (txid, state, participant, tenant_id, request_id, request_hash, from_account_ref,
                                     to_account_id, amount, memo, created_at, decided_at, done_at)
        SELECT v.id, v.st, v.p, v.t, v.r, v.h, v.f, v.ta, v.am, v.m, from_micros(v.c), from_micros(v.d),
               from_micros(v.dn)
        FROM unnest(?::text[], ?::smallint[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::bigint[], ?::text[],
                    ?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
          AS v(id, st, p, t, r, h, f, ta, am, m, c, d, dn)
        ON CONFLICT (txid) DO UPDATE
          SET state = EXCLUDED.state, decided_at = EXCLUDED.decided_at, done_at = EXCLUDED.done_at
      ), participants AS (
        INSERT INTO tpc_participant (txid, state, coordinator, tenant_id, account_ref, amount, request_id, memo,
                                     entry_sequence, created_at, resolved_at)
        SELECT v.id, v.st, v.co, v.t, v.a, v.am, v.r, v.m, v.s, from_micros(v.c), from_micros(v.rs)
        FROM unnest(?::text[], ?::smallint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[],
                    ?::bigint[], ?::bigint[], ?::bigint[]) AS v(id, st, co, t, a, am, r, m, s, c, rs)
        ON CONFLICT (txid) DO UPDATE
          SET state = EXCLUDED.state, entry_sequence = EXCLUDED.entry_sequence, resolved_at = EXCLUDED.resolved_at
      ), cards AS (
        INSERT INTO card_payment (journal_sequence, brand, last4, key_id, aad_version, nonce, ciphertext)
        SELECT * FROM unnest(?::bigint[], ?::smallint[], ?::text[], ?::text[], ?::smallint[], ?::bytea[], ?::bytea[])
      )
      SELECT 1
      """;

  private final DataSource dataSource;
  private final BinaryCopy copy = new BinaryCopy();

  /** {@code dataSource}: the writer's own pool (one connection, auto-commit off). */
  public PostgresStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public Transaction begin() throws SQLException {
    Connection c = dataSource.getConnection();
    try {
      c.setAutoCommit(false);
      return new PostgresTransaction(c, copy);
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private static final class PostgresTransaction implements Transaction {
    private final Connection c;
    private final BinaryCopy copy;
    private boolean committed;

    PostgresTransaction(Connection c, BinaryCopy copy) {
      this.c = c;
      this.copy = copy;
    }

    @Override
    public Batch.Head head() throws SQLException {
      try (PreparedStatement s = c.prepareStatement(LOAD_HEAD); ResultSet rs = s.executeQuery()) {
        rs.next();
        long lastAccountId = rs.getLong(1);
        long lastSequence = rs.getLong(2);
        byte[] hash = rs.getBytes(3);
        return new Batch.Head(lastSequence, hash == null ? Chain.GENESIS : hash, lastAccountId);
      }
    }

    @Override
    public Snapshot load(LoadPlan plan) throws SQLException {
      Snapshot snapshot = new Snapshot();
      if (!plan.accountIds().isEmpty()) {
        try (PreparedStatement s = c.prepareStatement(LOAD_ACCOUNTS)) {
          s.setArray(1, c.createArrayOf("text", plan.accountTenants().toArray()));
          s.setArray(2, c.createArrayOf("text", plan.accountIds().toArray()));
          try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
              snapshot.add(account(rs, 1));
            }
          }
        }
      }
      if (!plan.holdIds().isEmpty()) {
        try (PreparedStatement s = c.prepareStatement(LOAD_HOLDS)) {
          s.setArray(1, c.createArrayOf("text", plan.holdIds().toArray()));
          readHolds(s, snapshot, false);
        }
      }
      if (plan.dueBeforeMicros() != null) {
        try (PreparedStatement s = c.prepareStatement(LOAD_DUE_HOLDS)) {
          s.setLong(1, plan.dueBeforeMicros());
          s.setInt(2, plan.dueMax());
          readHolds(s, snapshot, true);
        }
      }
      if (!plan.txids().isEmpty() || !plan.requestIds().isEmpty()) {
        loadCoordinators(snapshot, plan);
      }
      if (!plan.txids().isEmpty()) {
        loadParticipants(snapshot, plan);
      }
      if (!plan.requestIds().isEmpty()) {
        try (PreparedStatement s = c.prepareStatement(LOAD_IDEMPOTENCY)) {
          s.setArray(1, c.createArrayOf("text", plan.requestTenants().toArray()));
          s.setArray(2, c.createArrayOf("text", plan.requestIds().toArray()));
          try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
              snapshot.add(new Batch.IdempotencyRecord(rs.getString(1), rs.getString(2), rs.getString(3),
                  rs.getInt(4), rs.getBytes(5), rs.getBytes(6), rs.getLong(7)));
            }
          }
        }
      }
      return snapshot;
    }

    private void loadCoordinators(Snapshot snapshot, LoadPlan plan) throws SQLException {
      if (!plan.txids().isEmpty()) {
        try (PreparedStatement s = c.prepareStatement(LOAD_COORDINATORS)) {
          s.setArray(1, c.createArrayOf("text", plan.txids().toArray()));
          readCoordinators(s, snapshot);
        }
      }
      if (!plan.requestIds().isEmpty()) {
        try (PreparedStatement s = c.prepareStatement(LOAD_UNDECIDED)) {
          s.setArray(1, c.createArrayOf("text", plan.requestTenants().toArray()));
          s.setArray(2, c.createArrayOf("text", plan.requestIds().toArray()));
          readCoordinators(s, snapshot);
        }
      }
    }

    /** Adds each row not already loaded (a transaction can be named by txid and found by request). */
    private static void readCoordinators(PreparedStatement s, Snapshot snapshot) throws SQLException {
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          if (snapshot.coordinators.containsKey(rs.getString(1))) {
            continue;
          }
          rs.getLong(13);
          AccountRow from = rs.wasNull() ? null : snapshot.add(account(rs, 13));
          snapshot.add(new CoordinatorRow(rs.getString(1), TransactionState.forNumber(rs.getInt(2)),
              rs.getString(3), rs.getString(4), rs.getString(5), rs.getBytes(6), from, rs.getString(7),
              rs.getLong(8), rs.getString(9), rs.getLong(10), nullableLong(rs, 11), nullableLong(rs, 12)));
        }
      }
    }

    private void loadParticipants(Snapshot snapshot, LoadPlan plan) throws SQLException {
      try (PreparedStatement s = c.prepareStatement(LOAD_PARTICIPANTS)) {
        s.setArray(1, c.createArrayOf("text", plan.txids().toArray()));
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            rs.getLong(11);
            AccountRow account = rs.wasNull() ? null : snapshot.add(account(rs, 11));
            snapshot.add(new ParticipantRow(rs.getString(1), TransactionState.forNumber(rs.getInt(2)),
                rs.getString(3), rs.getString(4), account, rs.getLong(5), rs.getString(6), rs.getString(7),
                nullableLong(rs, 8), rs.getLong(9), nullableLong(rs, 10)));
          }
        }
      }
    }

    @Override
    public void write(Batch batch) throws SQLException {
      List<AccountRow> inserted = new ArrayList<>();
      List<AccountRow> updated = new ArrayList<>();
      for (AccountRow a : batch.accounts()) {
        if (a.inserted) {
          inserted.add(a);
        } else if (a.updated()) {
          updated.add(a);
        }
      }
      List<HoldRow> holds = new ArrayList<>();
      batch.holds().forEach(h -> {
        if (h.dirty()) {
          holds.add(h);
        }
      });
      List<CoordinatorRow> coordinators = batch.coordinatorWrites();
      List<ParticipantRow> participants = new ArrayList<>();
      batch.participants().forEach(r -> {
        if (r.dirty()) {
          participants.add(r);
        }
      });
      CopyManager copies = c.unwrap(PGConnection.class).getCopyAPI();
      if (!batch.entries().isEmpty()) {
        journal(copy.start(), batch.entries()).copyIn(copies, COPY_JOURNAL);
      }
      if (!inserted.isEmpty() || !updated.isEmpty() || !holds.isEmpty() || !coordinators.isEmpty()
          || !participants.isEmpty() || !batch.cards().isEmpty()) {
        List<Object> columns = new ArrayList<>(52);
        columns.addAll(newAccounts(inserted));
        columns.addAll(changedAccounts(updated));
        columns.addAll(holds(holds));
        columns.addAll(coordinators(coordinators));
        columns.addAll(participants(participants));
        columns.addAll(cards(batch.cards()));
        try (PreparedStatement s = c.prepareStatement(WRITE)) {
          for (int i = 0; i < columns.size(); i++) {
            s.setArray(i + 1, array(c, columns.get(i)));
          }
          s.executeQuery().close();
        }
      }
      if (!batch.recorded().isEmpty()) {
        idempotency(copy.start(), batch.recorded()).copyIn(copies, COPY_IDEMPOTENCY);
      }
    }

    @Override
    public void commit() throws SQLException {
      c.commit();
      committed = true;
    }

    @Override
    public void close() throws SQLException {
      try {
        if (!committed) {
          c.rollback();
        }
      } finally {
        c.close();
      }
    }
  }

  private static void readHolds(PreparedStatement s, Snapshot snapshot, boolean due) throws SQLException {
    try (ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        AccountRow a = snapshot.add(account(rs, 10));
        snapshot.add(new HoldRow(rs.getString(1), a, rs.getLong(2), rs.getLong(3),
            HoldState.forNumber(rs.getInt(4)), nullableLong(rs, 5), rs.getString(6), rs.getLong(7),
            nullableLong(rs, 8), rs.getString(9)), due);
      }
    }
  }

  private static AccountRow account(ResultSet rs, int first) throws SQLException {
    return new AccountRow(rs.getLong(first), rs.getString(first + 1), rs.getString(first + 2), rs.getLong(first + 3),
        rs.getLong(first + 4), rs.getLong(first + 5), rs.getLong(first + 6));
  }

  private static Long nullableLong(ResultSet rs, int column) throws SQLException {
    long v = rs.getLong(column);
    return rs.wasNull() ? null : v;
  }

  private static List<Object> newAccounts(List<AccountRow> rows) {
    int n = rows.size();
    long[] id = new long[n], balance = new long[n], held = new long[n], seq = new long[n], created = new long[n];
    String[] tenant = new String[n], account = new String[n];
    for (int i = 0; i < n; i++) {
      AccountRow a = rows.get(i);
      id[i] = a.id; tenant[i] = a.tenantId; account[i] = a.accountId; balance[i] = a.balance; held[i] = a.held;
      seq[i] = a.lastSequence; created[i] = a.createdMicros;
    }
    return List.of(id, tenant, account, balance, held, seq, created);
  }

  private static List<Object> changedAccounts(List<AccountRow> rows) {
    int n = rows.size();
    long[] id = new long[n], balance = new long[n], held = new long[n], seq = new long[n];
    for (int i = 0; i < n; i++) {
      AccountRow a = rows.get(i);
      id[i] = a.id; balance[i] = a.balance; held[i] = a.held; seq[i] = a.lastSequence;
    }
    return List.of(id, balance, held, seq);
  }

  private static BinaryCopy journal(BinaryCopy out, List<JournalRow> rows) {
    for (JournalRow r : rows) {
      out.row(JOURNAL_FIELDS).int8(r.sequence()).int8(r.accountRef()).int2(r.kind()).int8(r.amount())
          .int8(r.balanceAfter()).int8(r.heldAfter()).text(r.requestId()).text(r.holdId()).text(r.transferId())
          .text(r.memo()).timestamp(r.createdMicros()).bytes(r.hash()).bytes(r.hmac());
    }
    return out;
  }

  private static List<Object> holds(List<HoldRow> rows) {
    int n = rows.size();
    String[] id = new String[n], request = new String[n];
    long[] account = new long[n], amount = new long[n], captured = new long[n], created = new long[n];
    short[] state = new short[n];
    Long[] expire = new Long[n], resolved = new Long[n];
    String[] txid = new String[n];
    for (int i = 0; i < n; i++) {
      HoldRow h = rows.get(i);
      id[i] = h.holdId; account[i] = h.account.id; amount[i] = h.amount; captured[i] = h.captured;
      state[i] = (short) h.state.getNumber(); expire[i] = h.expireMicros; request[i] = h.requestId;
      created[i] = h.createdMicros; resolved[i] = h.resolvedMicros; txid[i] = h.txid;
    }
    return List.of(id, account, amount, captured, state, expire, request, created, resolved, txid);
  }

  private static List<Object> coordinators(List<CoordinatorRow> rows) {
    int n = rows.size();
    String[] id = new String[n], participant = new String[n], tenant = new String[n], request = new String[n],
        to = new String[n], memo = new String[n];
    short[] state = new short[n];
    byte[][] hash = new byte[n][];
    long[] created = new long[n];
    Long[] from = new Long[n], amount = new Long[n], decided = new Long[n], done = new Long[n];
    for (int i = 0; i < n; i++) {
      CoordinatorRow r = rows.get(i);
      id[i] = r.txid; state[i] = (short) r.state().getNumber(); participant[i] = r.participant;
      tenant[i] = r.tenantId; request[i] = r.requestId; hash[i] = r.requestHash;
      // A tombstone has no transfer: no account, no amount.
      from[i] = r.tombstone() ? null : r.from.id; amount[i] = r.tombstone() ? null : r.amount;
      to[i] = r.toAccountId; memo[i] = r.memo; created[i] = r.createdMicros;
      decided[i] = r.decidedMicros(); done[i] = r.doneMicros();
    }
    return List.of(id, state, participant, tenant, request, hash, from, to, amount, memo, created, decided, done);
  }

  private static List<Object> participants(List<ParticipantRow> rows) {
    int n = rows.size();
    String[] id = new String[n], coordinator = new String[n], tenant = new String[n], request = new String[n],
        memo = new String[n];
    short[] state = new short[n];
    Long[] account = new Long[n], amount = new Long[n], sequence = new Long[n], resolved = new Long[n];
    long[] created = new long[n];
    for (int i = 0; i < n; i++) {
      ParticipantRow r = rows.get(i);
      id[i] = r.txid; state[i] = (short) r.state().getNumber(); coordinator[i] = r.coordinator;
      tenant[i] = r.tenantId; account[i] = r.account == null ? null : r.account.id;
      amount[i] = r.account == null ? null : r.amount; request[i] = r.requestId; memo[i] = r.memo;
      sequence[i] = r.entrySequence(); created[i] = r.createdMicros; resolved[i] = r.resolvedMicros();
    }
    return List.of(id, state, coordinator, tenant, account, amount, request, memo, sequence, created, resolved);
  }

  private static BinaryCopy idempotency(BinaryCopy out, List<Batch.IdempotencyRecord> rows) {
    for (Batch.IdempotencyRecord r : rows) {
      out.row(IDEMPOTENCY_FIELDS).text(r.tenantId()).text(r.accountId()).text(r.requestId()).int2(r.kind())
          .bytes(r.requestHash()).bytes(r.response()).timestamp(r.createdMicros());
    }
    return out;
  }

  private static List<Object> cards(List<Batch.CardRow> rows) {
    int n = rows.size();
    long[] seq = new long[n];
    short[] brand = new short[n], aadVersion = new short[n];
    String[] last4 = new String[n], keyId = new String[n];
    byte[][] nonce = new byte[n][], ciphertext = new byte[n][];
    for (int i = 0; i < n; i++) {
      Batch.CardRow r = rows.get(i);
      seq[i] = r.sequence(); brand[i] = (short) r.sealed().brand().getNumber(); last4[i] = r.sealed().last4();
      keyId[i] = r.sealed().keyId(); aadVersion[i] = (short) r.sealed().aadVersion();
      nonce[i] = r.sealed().nonce(); ciphertext[i] = r.sealed().ciphertext();
    }
    return List.of(seq, brand, last4, keyId, aadVersion, nonce, ciphertext);
  }

  /** One column of rows as a PostgreSQL array (primitive arrays go through pgjdbc's own encoder). */
  private static Array array(Connection c, Object column) throws SQLException {
    PGConnection pg = c.unwrap(PGConnection.class);
    if (column instanceof long[] || column instanceof Long[]) {
      return pg.createArrayOf("int8", column);
    } else if (column instanceof short[]) {
      return pg.createArrayOf("int2", column);
    } else if (column instanceof byte[][]) {
      return pg.createArrayOf("bytea", column);
    } else if (column instanceof String[]) {
      return pg.createArrayOf("text", column);
    }
    throw new IllegalArgumentException("unsupported column type " + column.getClass());
  }
}
