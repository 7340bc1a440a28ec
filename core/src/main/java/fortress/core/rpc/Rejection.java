package fortress.core.rpc;

import com.google.protobuf.ProtocolMessageEnum;
import fortress.rpc.ErrorReasons;
import io.grpc.StatusRuntimeException;
import java.util.Map;

/**
 * Why a request did not take effect, as a value of one of the contract's ErrorReason enums.
 * Thrown from anywhere below a server's gRPC glue, which answers with {@link #toStatus()}: the
 * reason's declared status code, and an ErrorInfo with its domain, the reason and the metadata
 * (such as the bad field).
 */
public final class Rejection extends RuntimeException {
  private final ProtocolMessageEnum reason;
  private final Map<String, String> metadata;

  public Rejection(ProtocolMessageEnum reason, String message, Map<String, String> metadata) {
    super(message, null, false, false);
    ErrorReasons.spec(reason); // a reason the contract does not declare fails here, not on the wire
    this.reason = reason;
    this.metadata = Map.copyOf(metadata);
  }

  public Rejection(ProtocolMessageEnum reason, String message) {
    this(reason, message, Map.of());
  }

  /** {@code reason} (a server's INVALID_FIELD) for {@code field}, named in the message and the metadata. */
  public static Rejection invalid(ProtocolMessageEnum reason, String field, String problem) {
    return new Rejection(reason, field + ": " + problem, Map.of("field", field));
  }

  public ProtocolMessageEnum reason() {
    return reason;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  public StatusRuntimeException toStatus() {
    return ErrorStatus.of(reason, getMessage(), metadata);
  }
}
