package fortress.ledger;

import java.util.Map;

/** Why an operation did not take effect (or, for UNAVAILABLE reasons, may not have). */
public record Rejection(Reason reason, String message, Map<String, String> metadata) {
  public Rejection {
    metadata = Map.copyOf(metadata);
  }

  public static Rejection of(Reason reason, String message) {
    return new Rejection(reason, message, Map.of());
  }

  public static Rejection of(Reason reason, String message, String key, String value) {
    return new Rejection(reason, message, Map.of(key, value));
  }

  /** INVALID_ARGUMENT naming the field, e.g. {@code invalid("amount", "must be greater than 0")}. */
  public static Rejection invalid(String field, String problem) {
    return new Rejection(Reason.INVALID_FIELD, field + ": " + problem, Map.of("field", field));
  }
}
