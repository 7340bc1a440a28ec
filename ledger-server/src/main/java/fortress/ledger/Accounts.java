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

  /**
   * What a transfer's sender may see of the account it credited: all of it within its own tenant;
   * of another tenant's account only the identifiers it named itself, never its balances, sequence
   * or creation time.
   */
  public static Account seenBy(String senderTenantId, Account credited) {
    if (credited.getTenantId().equals(senderTenantId)) {
      return credited;
    }
    return Account.newBuilder().setAccountId(credited.getAccountId()).setTenantId(credited.getTenantId()).build();
  }
}
