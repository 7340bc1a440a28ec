package fortress.ledger;

import fortress.ledger.v1.ErrorReason;
import java.util.Map;

/** Why an operation did not take effect, or (for a reason of effect EFFECT_UNKNOWN) may not have. */
public record Rejection(ErrorReason reason, String message, Map<String, String> metadata) {
  public Rejection {
    metadata = Map.copyOf(metadata);
  }

  public static Rejection of(ErrorReason reason, String message) {
    return new Rejection(reason, message, Map.of());
  }

  public static Rejection of(ErrorReason reason, String message, String key, String value) {
    return new Rejection(reason, message, Map.of(key, value));
  }

  public static Rejection accountNotFound(String accountId) {
    return of(ErrorReason.ACCOUNT_NOT_FOUND, "account " + accountId + " does not exist", "account_id", accountId);
  }

  public static Rejection insufficientFunds(String accountId, long available, long requested) {
    return new Rejection(ErrorReason.INSUFFICIENT_FUNDS,
        "account " + accountId + " has " + available + " available, " + requested + " requested",
        Map.of("account_id", accountId, "available", Long.toString(available)));
  }

  public static Rejection balanceOverflow(String accountId) {
    return of(ErrorReason.BALANCE_OVERFLOW, "account " + accountId + " would exceed the largest balance", "account_id",
        accountId);
  }

  /**
   * A transfer to another tenant's account that cannot take place: the same reason and message
   * whether the account is missing or cannot take the credit, so nothing about it is revealed.
   */
  public static Rejection destinationUnavailable() {
    return new Rejection(ErrorReason.DESTINATION_UNAVAILABLE, "to_account_id: the other tenant's account cannot "
        + "take this transfer; nothing moved", Map.of("field", "to_account_id"));
  }

  public static Rejection requestIdReused(String requestId) {
    return of(ErrorReason.REQUEST_ID_REUSED, "request_id " + requestId + " was already used for a different request",
        "request_id", requestId);
  }

  /** INVALID_ARGUMENT naming the field, e.g. {@code invalid("amount", "must be greater than 0")}. */
  public static Rejection invalid(String field, String problem) {
    return new Rejection(ErrorReason.INVALID_FIELD, field + ": " + problem, Map.of("field", field));
  }
}
