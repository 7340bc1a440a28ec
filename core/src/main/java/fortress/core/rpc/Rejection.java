package fortress.core.rpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;

/**
 * Why a request did not take effect, in a server's own terms. Thrown from anywhere below a
 * server's gRPC glue, which answers with {@link #toStatus()}: the reason's status code, and an
 * ErrorInfo with the server's domain, the reason and the metadata (such as the bad field).
 */
public final class Rejection extends RuntimeException {
  /** A server's reasons: an enum whose constants name their status code, under the server's domain. */
  public interface Reason {
    String name();

    Status.Code code();

    String domain();
  }

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

  /** {@code reason} (a server's INVALID_FIELD) for {@code field}, named in the message and the metadata. */
  public static Rejection invalid(Reason reason, String field, String problem) {
    return new Rejection(reason, field + ": " + problem, Map.of("field", field));
  }

  public Reason reason() {
    return reason;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  public StatusRuntimeException toStatus() {
    return ErrorStatus.of(reason.code(), reason.domain(), reason.name(), getMessage(), metadata);
  }
}
