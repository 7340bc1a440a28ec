package fortress.ledger.sim;

import fortress.ledger.journal.Chain;
import fortress.ledger.journal.JournalRow;
import fortress.ledger.store.Lookup;
import fortress.ledger.store.Pending;
import fortress.ledger.store.Records;
import fortress.ledger.twopc.CoordinatorRow;
import fortress.ledger.twopc.ParticipantRow;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.HoldState;
import fortress.ledger.write.AccountRow;
import fortress.ledger.write.Batch;
import fortress.ledger.write.HoldRow;
import fortress.ledger.write.LoadPlan;
import fortress.ledger.write.Snapshot;
import fortress.ledger.write.Store;
import fortress.shard.v1.Decision;
import fortress.shard.v1.TransactionState;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One simulated node's database, in memory: the same tables as the PostgreSQL schema, the same
 * constraints (a write that breaks one is refused whole, with PostgreSQL's SQLSTATE), the same
 * rows loaded for a batch plan, and the same reads, each from the committed state at the moment it
 * runs. It survives its node's crashes: only committed state is here.
 *
 * <p>It can fail a commit as a database does: refused before anything lands (the connection went
 * away, SQLSTATE 08006), or landed but reported lost (the acknowledgement went away, also 08006),
 * as the simulation decides through {@link #commitFault}.
 */
final class MemoryStore implements Store, Records {
  /** How a commit goes: applied, lost before landing, or landed with its answer lost. */
  enum CommitFault { NONE, LOST_BEFORE, LOST_AFTER }

  record Account(long id, String tenantId, String accountId, long balance, long held, long lastSequence,
      long createdMicros) {}

  record Hold(String holdId, long accountRef, long amount, long captured, HoldState state, Long expireMicros,
      String requestId, long createdMicros, Long resolvedMicros, String txid) {}

  /** A row of tpc_coordinator; a tombstone (presumed abort recorded) has no transfer: fromRef and the rest null. */
  record Coordinated(String txid, TransactionState state, String participant, String tenantId, String requestId,
      byte[] requestHash, Long fromRef, String toAccountId, long amount, String memo, long createdMicros,
      Long decidedMicros, Long doneMicros) {
    boolean tombstone() {
      return fromRef == null;
    }
  }

  record Leg(String txid, TransactionState state, String coordinator, String tenantId, Long accountRef, long amount,
      String requestId, String memo, Long entrySequence, long createdMicros, Long resolvedMicros) {}

  final String nodeId;
  final Map<Long, Account> accounts = new TreeMap<>();
  final Map<String, Long> accountKeys = new HashMap<>();
  final Map<String, Hold> holds = new TreeMap<>();
  /** By (tenant, account, request_id), as the primary key. */
  final Map<String, Batch.IdempotencyRecord> idempotency = new TreeMap<>();
  final Map<String, Coordinated> coordinators = new TreeMap<>();
  final Map<String, Leg> participants = new TreeMap<>();
  final List<JournalRow> journal = new ArrayList<>();
  long deposited;
  long consumed;

  /** Decides how the next commit goes. */
  java.util.function.Supplier<CommitFault> commitFault = () -> CommitFault.NONE;
  /** Shown every batch about to land, then every batch that landed, so the simulation checks it at once. */
  Consumer<Batch> landing = b -> { };
  Consumer<Batch> committed = b -> { };
  /** Told of every write refused for a constraint: the code should never send one. */
  Consumer<String> refused = problem -> { };

  MemoryStore(String nodeId) {
    this.nodeId = nodeId;
  }

  // The writer's side.

  @Override
  public Transaction begin() {
    return new MemoryTransaction();
  }

  private final class MemoryTransaction implements Transaction {
    private Batch staged;

    @Override
    public Batch.Head head() {
      long lastAccount = accounts.isEmpty() ? 0 : ((TreeMap<Long, Account>) accounts).lastKey();
      if (journal.isEmpty()) {
        return new Batch.Head(0, Chain.GENESIS, lastAccount);
      }
      JournalRow last = journal.get(journal.size() - 1);
      return new Batch.Head(last.sequence(), last.hash(), lastAccount);
    }

    @Override
    public Snapshot load(LoadPlan plan) {
      Snapshot s = new Snapshot();
      for (int i = 0; i < plan.accountIds().size(); i++) {
        Long ref = accountKeys.get(AccountRow.key(plan.accountTenants().get(i), plan.accountIds().get(i)));
        if (ref != null) {
          s.add(row(accounts.get(ref)));
        }
      }
      for (String id : plan.holdIds()) {
        Hold h = holds.get(id);
        if (h != null) {
          s.add(row(h, s), false);
        }
      }
      if (plan.dueBeforeMicros() != null) {
        holds.values().stream()
            .filter(h -> h.state() == HoldState.HOLD_STATE_ACTIVE && h.expireMicros() != null
                && h.expireMicros() <= plan.dueBeforeMicros())
            .sorted(Comparator.comparing(Hold::expireMicros)).limit(plan.dueMax())
            .forEach(h -> s.add(row(h, s), true));
      }
      Set<String> requests = new HashSet<>();
      for (int i = 0; i < plan.requestIds().size(); i++) {
        requests.add(plan.requestTenants().get(i) + '\u0000' + plan.requestIds().get(i));
      }
      for (Coordinated c : coordinators.values()) {
        if (plan.txids().contains(c.txid()) || c.state() == TransactionState.TRANSACTION_STATE_PREPARING
            && requests.contains(c.tenantId() + '\u0000' + c.requestId())) {
          AccountRow from = c.tombstone() ? null : s.add(row(accounts.get(c.fromRef())));
          s.add(new CoordinatorRow(c.txid(), c.state(), c.participant(), c.tenantId(), c.requestId(), c.requestHash(),
              from, c.toAccountId(), c.amount(), c.memo(), c.createdMicros(), c.decidedMicros(), c.doneMicros()));
        }
      }
      for (String txid : plan.txids()) {
        Leg p = participants.get(txid);
        if (p != null) {
          AccountRow a = p.accountRef() == null ? null : s.add(row(accounts.get(p.accountRef())));
          s.add(new ParticipantRow(p.txid(), p.state(), p.coordinator(), p.tenantId(), a, p.amount(), p.requestId(),
              p.memo(), p.entrySequence(), p.createdMicros(), p.resolvedMicros()));
        }
      }
      for (Batch.IdempotencyRecord r : idempotency.values()) {
        if (requests.contains(r.tenantId() + '\u0000' + r.requestId())) {
          s.add(r);
        }
      }
      return s;
    }

    @Override
    public void write(Batch batch) {
      staged = batch;
    }

    @Override
    public void commit() throws SQLException {
      CommitFault fault = commitFault.get();
      if (fault == CommitFault.LOST_BEFORE) {
        throw new SQLException("simulated: connection lost before the commit", "08006");
      }
      if (staged != null) {
        try {
          apply(staged);
        } catch (SQLException e) {
          refused.accept(e.getMessage());
          throw e;
        }
        committed.accept(staged);
      }
      if (fault == CommitFault.LOST_AFTER) {
        throw new SQLException("simulated: connection lost after the commit landed", "08006");
      }
    }

    @Override
    public void close() {}
  }

  private static AccountRow row(Account a) {
    return new AccountRow(a.id(), a.tenantId(), a.accountId(), a.balance(), a.held(), a.lastSequence(),
        a.createdMicros());
  }

  private HoldRow row(Hold h, Snapshot s) {
    AccountRow a = s.add(row(accounts.get(h.accountRef())));
    return new HoldRow(h.holdId(), a, h.amount(), h.captured(), h.state(), h.expireMicros(), h.requestId(),
        h.createdMicros(), h.resolvedMicros(), h.txid());
  }

  /**
   * Applies a batch as the one statement PostgreSQL runs, all or nothing: every row is checked
   * against the schema's constraints first, and a violation refuses the whole write (23505 for a
   * unique key, 23514 for a check), leaving the state untouched.
   */
  private void apply(Batch b) throws SQLException {
    Map<Long, Account> newAccounts = new LinkedHashMap<>();
    for (AccountRow a : b.accounts()) {
      if (a.inserted || a.updated()) {
        check(a.balance() >= 0 && a.held() >= 0 && a.held() <= a.balance(), "account balances of " + a.id);
        if (a.inserted && (accounts.containsKey(a.id) || accountKeys.containsKey(AccountRow.key(a.tenantId,
            a.accountId)))) {
          throw new SQLException("duplicate account " + a.id, "23505");
        }
        newAccounts.put(a.id, new Account(a.id, a.tenantId, a.accountId, a.balance(), a.held(), a.lastSequence(),
            a.createdMicros));
      }
    }
    long expected = journal.isEmpty() ? 1 : journal.get(journal.size() - 1).sequence() + 1;
    for (JournalRow r : b.entries()) {
      if (r.sequence() != expected++) {
        throw new SQLException("journal sequence " + r.sequence() + " out of order", "23505");
      }
      check(r.balanceAfter() >= 0 && r.heldAfter() >= 0 && r.heldAfter() <= r.balanceAfter(), "journal entry");
    }
    Set<String> keys = new HashSet<>();
    for (Batch.IdempotencyRecord r : b.recorded()) {
      String key = AccountRow.requestKey(r.tenantId(), r.accountId(), r.requestId());
      if (idempotency.containsKey(key) || !keys.add(key)) {
        throw new SQLException("duplicate key value violates unique constraint \"idempotency_pkey\": "
            + key.replace('\u0000', '/'), "23505");
      }
    }
    Map<String, Coordinated> coordinated = new LinkedHashMap<>();
    for (CoordinatorRow c : b.coordinatorWrites()) {
      check((c.state() == TransactionState.TRANSACTION_STATE_PREPARING) == (c.decidedMicros() == null),
          "tpc_coordinator_decided");
      check((c.state() == TransactionState.TRANSACTION_STATE_DONE) == (c.doneMicros() != null), "tpc_coordinator_done");
      check(c.tombstone() ? c.state() == TransactionState.TRANSACTION_STATE_ABORTED && c.tenantId == null
              && c.requestId == null && c.requestHash == null && c.toAccountId == null && c.memo == null
          : c.tenantId != null && c.requestId != null && c.requestHash != null && c.toAccountId != null
              && c.memo != null && c.amount > 0, "tpc_coordinator_transfer_or_tombstone");
      coordinated.put(c.txid, new Coordinated(c.txid, c.state(), c.participant, c.tenantId, c.requestId,
          c.requestHash, c.tombstone() ? null : c.from.id, c.toAccountId, c.amount, c.memo, c.createdMicros,
          c.decidedMicros(), c.doneMicros()));
    }
    checkOneUndecidedPerRequest(coordinated);
    Map<String, Leg> legs = new LinkedHashMap<>();
    for (ParticipantRow p : b.participants()) {
      if (p.dirty()) {
        check(p.state() == TransactionState.TRANSACTION_STATE_ABORTED || p.account != null, "tpc_participant_leg");
        check((p.state() == TransactionState.TRANSACTION_STATE_COMMITTED) == (p.entrySequence() != null),
            "tpc_participant_applied");
        legs.put(p.txid, new Leg(p.txid, p.state(), p.coordinator, p.tenantId, p.account == null ? null : p.account.id,
            p.account == null ? 0 : p.amount, p.requestId, p.memo, p.entrySequence(), p.createdMicros,
            p.resolvedMicros()));
      }
    }
    Map<String, Hold> newHolds = new LinkedHashMap<>();
    for (HoldRow h : b.holds()) {
      if (h.dirty()) {
        check(h.captured() >= 0 && h.captured() <= h.amount, "hold captured");
        check((h.state() == HoldState.HOLD_STATE_ACTIVE) == (h.resolvedMicros() == null), "hold_resolved_iff_not_active");
        newHolds.put(h.holdId, new Hold(h.holdId, h.account.id, h.amount, h.captured(), h.state(), h.expireMicros,
            h.requestId, h.createdMicros, h.resolvedMicros(), h.txid));
      }
    }
    // Every check passed: the write lands.
    landing.accept(b);
    newAccounts.values().forEach(a -> {
      accounts.put(a.id(), a);
      accountKeys.put(AccountRow.key(a.tenantId(), a.accountId()), a.id());
    });
    for (JournalRow r : b.entries()) {
      journal.add(r);
      if (r.kind() == EntryKind.ENTRY_KIND_DEPOSIT_VALUE) {
        deposited += r.amount();
      } else if (r.kind() == EntryKind.ENTRY_KIND_CONSUME_VALUE || r.kind() == EntryKind.ENTRY_KIND_HOLD_CAPTURED_VALUE) {
        consumed += r.amount();
      }
    }
    b.recorded().forEach(r -> idempotency.put(AccountRow.requestKey(r.tenantId(), r.accountId(), r.requestId()), r));
    coordinators.putAll(coordinated);
    participants.putAll(legs);
    holds.putAll(newHolds);
  }

  /**
   * The partial unique index, one PREPARING transaction per (tenant, request_id, debited account),
   * checked as PostgreSQL checks it: row by row, in the order the rows are written.
   */
  private void checkOneUndecidedPerRequest(Map<String, Coordinated> changed) throws SQLException {
    Map<String, String> undecided = new HashMap<>();
    for (Coordinated c : coordinators.values()) {
      if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
        undecided.put(undecidedKey(c), c.txid());
      }
    }
    for (Coordinated c : changed.values()) {
      Coordinated before = coordinators.get(c.txid());
      if (before != null && before.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
        undecided.remove(undecidedKey(before));
      }
      if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING
          && undecided.putIfAbsent(undecidedKey(c), c.txid()) != null) {
        throw new SQLException("duplicate key value violates unique constraint \"tpc_coordinator_undecided_request\": "
            + c.requestId(), "23505");
      }
    }
  }

  private static String undecidedKey(Coordinated c) {
    return c.tenantId() + '/' + c.requestId() + '/' + c.fromRef();
  }

  private static void check(boolean ok, String constraint) throws SQLException {
    if (!ok) {
      throw new SQLException("new row violates check constraint \"" + constraint + "\"", "23514");
    }
  }

  // The reads.

  @Override
  public Decision decision(String txid) {
    Coordinated c = coordinators.get(txid);
    if (c == null) {
      return Decision.DECISION_UNKNOWN;
    }
    return switch (c.state()) {
      case TRANSACTION_STATE_PREPARING -> Decision.DECISION_PENDING;
      case TRANSACTION_STATE_COMMITTED, TRANSACTION_STATE_DONE -> Decision.DECISION_COMMITTED;
      default -> Decision.DECISION_ABORTED;
    };
  }

  @Override
  public Lookup lookUp(String tenantId, String accountId, String holdId, String requestId) {
    boolean scoped = accountId != null || holdId != null;
    Account scope = scoped ? scope(tenantId, accountId, holdId) : null;
    if (scoped && scope == null) {
      return Lookup.ABSENT;
    }
    List<Lookup> rows = new ArrayList<>();
    for (Batch.IdempotencyRecord r : idempotency.values()) {
      if (r.tenantId().equals(tenantId) && r.requestId().equals(requestId)
          && (!scoped || r.accountId().equals(scope.accountId()))) {
        rows.add(Lookup.found(requestId, r.kind(), r.response(), r.createdMicros()));
      }
    }
    for (Coordinated c : coordinators.values()) {
      if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING && c.tenantId().equals(tenantId)
          && c.requestId().equals(requestId) && (!scoped || c.fromRef() == scope.id())) {
        rows.add(new Lookup.InProgress(c.txid()));
      }
    }
    return Lookup.of(rows);
  }

  /** The account a request_id's scope names: the account, or the tenant's hold's account. */
  Account scope(String tenantId, String accountId, String holdId) {
    if (accountId != null) {
      Long ref = accountKeys.get(AccountRow.key(tenantId, accountId));
      return ref == null ? null : accounts.get(ref);
    }
    Hold h = holds.get(holdId);
    Account a = h == null ? null : accounts.get(h.accountRef());
    return a != null && a.tenantId().equals(tenantId) ? a : null;
  }

  @Override
  public List<Pending> pending(Pending.Kind kind, Pending.Cursor after, long beforeMicros, int limit) {
    List<Pending> rows = new ArrayList<>();
    if (kind == Pending.Kind.PREPARED) {
      for (Leg p : participants.values()) {
        if (p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
          rows.add(new Pending(p.txid(), p.coordinator(), p.createdMicros()));
        }
      }
    } else {
      TransactionState state = kind == Pending.Kind.PREPARING ? TransactionState.TRANSACTION_STATE_PREPARING
          : TransactionState.TRANSACTION_STATE_COMMITTED;
      for (Coordinated c : coordinators.values()) {
        if (c.state() == state) {
          rows.add(new Pending(c.txid(), c.participant(),
              kind == Pending.Kind.PREPARING ? c.createdMicros() : c.decidedMicros()));
        }
      }
    }
    Comparator<Pending> order = Comparator.comparingLong(Pending::clockMicros).thenComparing(Pending::txid);
    return rows.stream()
        .filter(p -> p.clockMicros() < beforeMicros)
        .filter(p -> order.compare(p, new Pending(after.txid(), "", after.clockMicros())) > 0)
        .sorted(order).limit(limit).toList();
  }

  @Override
  public Backlog backlog(long overdueMicros) {
    long preparing = 0;
    long committed = 0;
    long overdue = 0;
    long oldest = Long.MAX_VALUE;
    for (Coordinated c : coordinators.values()) {
      if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
        preparing++;
        oldest = Math.min(oldest, c.createdMicros());
      } else if (c.state() == TransactionState.TRANSACTION_STATE_COMMITTED) {
        committed++;
        overdue += c.decidedMicros() < overdueMicros ? 1 : 0;
        oldest = Math.min(oldest, c.createdMicros());
      }
    }
    long prepared = 0;
    for (Leg p : participants.values()) {
      if (p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
        prepared++;
        oldest = Math.min(oldest, p.createdMicros());
      }
    }
    return new Backlog(preparing, committed, prepared, overdue, oldest == Long.MAX_VALUE ? 0 : oldest);
  }
}
