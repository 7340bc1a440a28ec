package fortress.ledger;

import fortress.ledger.v1.Account;

/** The one way an account's stored state becomes its proto; {@code available} is derived here. */
public final class Accounts {
  private Accounts() {}

  public static Account proto(String tenantId, String accountId, long balance, long held, long sequence,
      long createdMicros) {
    return Account.newBuilder()
        .setAccountId(accountId)
        .setTenantId(tenantId)
        .setBalance(balance)
        .setHeld(held)
        .setAvailable(balance - held)
        .setSequence(sequence)
        .setCreateTime(Times.timestamp(createdMicros))
        .build();
  }
}
