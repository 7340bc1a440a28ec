package fortress.ledger.write;

import fortress.ledger.Accounts;
import fortress.ledger.v1.Account;

/** An account's state inside one writer batch. Mutable; owned by the writer thread. */
final class AccountRow {
  final long id;
  final String tenantId;
  final String accountId;
  final long createdMicros;
  final boolean inserted;
  long balance;
  long held;
  long lastSequence;
  boolean changed;

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

  long available() {
    return balance - held;
  }

  Account toProto() {
    return Accounts.proto(tenantId, accountId, balance, held, lastSequence, createdMicros);
  }

  static String key(String tenantId, String accountId) {
    return tenantId + '\u0000' + accountId;
  }
}
