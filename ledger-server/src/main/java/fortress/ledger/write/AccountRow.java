package fortress.ledger.write;

import fortress.ledger.Accounts;
import fortress.ledger.v1.Account;

/**
 * An account's state inside one writer batch: a row of {@code account}. Its balances change only
 * through {@link Batch#append}, with the journal entry that records the change. Mutable; owned by
 * the writer thread.
 */
public final class AccountRow {
  public final long id;
  public final String tenantId;
  public final String accountId;
  public final long createdMicros;
  /** True when this batch created the row. */
  public final boolean inserted;
  long balance;
  long held;
  long lastSequence;
  boolean changed;

  /** A row as stored. */
  public AccountRow(long id, String tenantId, String accountId, long balance, long held, long lastSequence,
      long createdMicros) {
    this(id, tenantId, accountId, balance, held, lastSequence, createdMicros, false);
  }

  AccountRow(long id, String tenantId, String accountId, long balance, long held, long lastSequence,
      long createdMicros, boolean inserted) {
    this.id = id;
    this.tenantId = tenantId;
    this.accountId = accountId;
    this.balance = balance;
    this.held = held;
    this.lastSequence = lastSequence;
    this.createdMicros = createdMicros;
    this.inserted = inserted;
  }

  public long balance() {
    return balance;
  }

  public long held() {
    return held;
  }

  public long available() {
    return balance - held;
  }

  public long lastSequence() {
    return lastSequence;
  }

  /** True when this batch changed the row (and did not create it). */
  public boolean updated() {
    return changed && !inserted;
  }

  public Account toProto() {
    return Accounts.proto(tenantId, accountId, balance, held, lastSequence, createdMicros);
  }

  /** The map key of an account: its tenant and id. */
  public static String key(String tenantId, String accountId) {
    return tenantId + '\u0000' + accountId;
  }

  /** The map key of a request_id: scoped to its tenant and the account its mutation acts on. */
  public static String requestKey(String tenantId, String accountId, String requestId) {
    return tenantId + '\u0000' + accountId + '\u0000' + requestId;
  }
}
