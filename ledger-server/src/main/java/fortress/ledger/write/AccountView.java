package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import fortress.ledger.Accounts;
import fortress.ledger.store.LedgerReader;
import fortress.ledger.v1.Account;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's authoritative in-memory view of its accounts: for each cached (tenant, account), the
 * state of its last durable commit. Because the node's writer is the only writer of its database,
 * the view is exact: it is filled and changed by the writer alone, only after a commit is durable,
 * and the accounts of a write that failed are dropped, so their reads go to PostgreSQL until the
 * writer has committed them again. A reader that misses reads PostgreSQL and never fills the
 * view: a slow read could otherwise put back a state older than one the writer published.
 *
 * <p>Between its COMMIT and the moment it publishes the new states, the writer marks the old
 * entries of the accounts the batch changed as {@code changing}; reads of those go to
 * PostgreSQL, which shows the commit as soon as it is visible. So a reader that has seen one side
 * of a transfer never then reads the other side's older state from the view: never half a
 * transfer.
 *
 * <p>Bounded by {@code accountsMax} (least recently used accounts are evicted; 0 turns the view
 * off). Thread-safe for many readers and the one writer; a read never waits for the writer.
 */
public final class AccountView {
  private static final Logger log = LoggerFactory.getLogger(AccountView.class);

  /** An account in the view. */
  record Key(String tenantId, String accountId) {}

  /** One account's committed state. Immutable, except the writer's mark while a commit changes it. */
  static final class Entry {
    final long id;
    final String tenantId;
    final String accountId;
    final long balance;
    final long held;
    final long lastSequence;
    final long createdMicros;
    /** Set by the writer just before a COMMIT that changes this account: ask PostgreSQL. */
    volatile boolean changing;

    Entry(AccountRow row) {
      this.id = row.id;
      this.tenantId = row.tenantId;
      this.accountId = row.accountId;
      this.balance = row.balance;
      this.held = row.held;
      this.lastSequence = row.lastSequence;
      this.createdMicros = row.createdMicros;
    }

    /** A fresh mutable row of this state for one writer batch. */
    AccountRow row() {
      return new AccountRow(id, tenantId, accountId, balance, held, lastSequence, createdMicros);
    }

    boolean sameState(AccountRow row) {
      return row.id == id && row.balance == balance && row.held == held && row.lastSequence == lastSequence
          && row.createdMicros == createdMicros;
    }
  }

  private final int accountsMax;
  private final Cache<Key, Entry> entries;

  /** {@code accountsMax}: accounts kept; 0 turns the view off (every read goes to PostgreSQL). */
  public AccountView(int accountsMax) {
    checkArgument(accountsMax >= 0, "accountsMax must not be negative: %s", accountsMax);
    this.accountsMax = accountsMax;
    this.entries = CacheBuilder.newBuilder().maximumSize(accountsMax).build();
  }

  public static AccountView off() {
    return new AccountView(0);
  }

  public boolean enabled() {
    return accountsMax > 0;
  }

  /** The account's last committed state, or null: not in the view, or being committed (ask PostgreSQL). */
  public Account account(String tenantId, String accountId) {
    if (!enabled()) {
      return null;
    }
    Entry e = entries.getIfPresent(new Key(tenantId, accountId));
    if (e == null || e.changing) {
      return null;
    }
    return Accounts.proto(e.tenantId, e.accountId, e.balance, e.held, e.lastSequence, e.createdMicros);
  }

  // The writer's side. Only the writer thread (or start-up, before it runs) calls these.

  /**
   * Rebuilds the view from the database, before the writer runs: the {@code accountsMax} accounts
   * changed last, oldest of them first so that they are the first evicted. Logs how many and how
   * long it took.
   */
  public static AccountView rebuild(LedgerReader reader, int accountsMax) throws SQLException {
    AccountView view = new AccountView(accountsMax);
    if (!view.enabled()) {
      log.info("account view off: every GetAccount reads PostgreSQL");
      return view;
    }
    long start = System.nanoTime();
    int read = reader.recentAccounts(accountsMax, row -> view.entries.put(new Key(row.tenantId, row.accountId),
        new Entry(row)));
    log.info("account view rebuilt: {} accounts (of at most {}) in {} ms", read, accountsMax,
        (System.nanoTime() - start) / 1_000_000);
    return view;
  }

  /**
   * The operations' accounts the view holds, which the writer's batch need not load. Each is the
   * state of the writer's own last commit of it, so it cannot be past the journal {@code head}.
   */
  Map<Key, Entry> cached(List<Op> ops, Batch.Head head) {
    Map<Key, Entry> cached = new LinkedHashMap<>();
    if (!enabled()) {
      return cached;
    }
    for (Op op : ops) {
      for (int i = 0; i < op.accountIds().size(); i++) {
        Key key = new Key(op.accountTenant(i), op.accountIds().get(i));
        Entry e = cached.containsKey(key) ? null : entries.getIfPresent(key);
        if (e != null) {
          checkState(!e.changing, "account %s is marked changing outside a commit", e.id);
          checkState(e.lastSequence <= head.lastSequence() && e.id <= head.lastAccountId(),
              "view has account %s at sequence %s, past the journal head %s", e.id, e.lastSequence,
              head.lastSequence());
          cached.put(key, e);
        }
      }
    }
    return cached;
  }

  /**
   * Adds fresh mutable rows of the cached accounts to a batch's snapshot. One the store loaded
   * anyway (through a hold or a transaction) must equal the view's: both are the last commit.
   */
  static void addTo(Snapshot snapshot, Map<Key, Entry> cached) {
    for (Entry e : cached.values()) {
      AccountRow row = e.row();
      AccountRow mapped = snapshot.add(row);
      checkState(mapped == row || e.sameState(mapped),
          "account %s in the view (balance %s, held %s, sequence %s) differs from the database (%s, %s, %s)", e.id,
          e.balance, e.held, e.lastSequence, mapped.balance, mapped.held, mapped.lastSequence);
    }
  }

  /** Before COMMIT: reads of the accounts the batch changed go to PostgreSQL until {@link #publish}. */
  void markChanging(Iterable<AccountRow> accounts) {
    if (!enabled()) {
      return;
    }
    for (AccountRow a : accounts) {
      if (a.changed && !a.inserted) {
        Entry e = entries.getIfPresent(new Key(a.tenantId, a.accountId));
        if (e != null) {
          e.changing = true;
        }
      }
    }
  }

  /** After a durable COMMIT: every account the batch read or wrote, as it now stands. */
  void publish(Iterable<AccountRow> accounts) {
    if (!enabled()) {
      return;
    }
    for (AccountRow a : accounts) {
      Key key = new Key(a.tenantId, a.accountId);
      Entry known = entries.getIfPresent(key);
      if (known == null || known.changing || !known.sameState(a)) {
        checkState(known == null || known.lastSequence <= a.lastSequence,
            "account %s would go back from sequence %s to %s", a.accountId, known == null ? 0 : known.lastSequence,
            a.lastSequence);
        entries.put(key, new Entry(a));
      }
    }
  }

  /**
   * After a failed write: the accounts it may have changed (the operations' and every one its
   * snapshot loaded, if it got that far) are read from PostgreSQL until the writer commits them
   * again.
   */
  void drop(List<Op> ops, Snapshot snapshot) {
    Set<Key> keys = new HashSet<>();
    for (Op op : ops) {
      for (int i = 0; i < op.accountIds().size(); i++) {
        keys.add(new Key(op.accountTenant(i), op.accountIds().get(i)));
      }
    }
    if (snapshot != null) {
      for (AccountRow a : snapshot.accountsById.values()) {
        keys.add(new Key(a.tenantId, a.accountId));
      }
    }
    entries.invalidateAll(keys);
  }

  /** Drops every account: reads go to PostgreSQL until the writer commits them again. */
  void clear() {
    entries.invalidateAll();
  }
}
