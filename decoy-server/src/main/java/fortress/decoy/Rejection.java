package fortress.decoy;

import fortress.core.rpc.ErrorStatus;
import io.grpc.StatusRuntimeException;
import java.util.Map;

/**
 * Why a request did not take effect. Thrown from anywhere below the gRPC glue, which turns it into
 * the status in {@link #toStatus()}; nothing else escapes as an error.
 */
public final class Rejection extends RuntimeException {
  private final Reason reason;
  private final Map<String, String> metadata;

  public Rejection(Reason reason, String message, Map<String, String> metadata) {
    super(message, null, false, false);
    this.reason = reason;
    this.metadata = Map.copyOf(metadata);
  }

  public Rejection(Reason reason, String message) {
    this(reason, message, Map.of());
  }

  /** INVALID_ARGUMENT naming the field, e.g. {@code invalid("count", "must be 1-10000000")}. */
  public static Rejection invalid(String field, String problem) {
    return new Rejection(Reason.INVALID_FIELD, field + ": " + problem, Map.of("field", field));
  }

  public Reason reason() {
    return reason;
  }

  public StatusRuntimeException toStatus() {
    return ErrorStatus.of(reason.code(), Reason.DOMAIN, reason.name(), getMessage(), metadata);
  }
}
