package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/**
 * A call that did not succeed. Carries the canonical status code and the {@code ErrorInfo} reason
 * (for example {@code INSUFFICIENT_FUNDS}) and metadata (for example {@code field}) the server sent.
 * Subclasses name the codes a caller usually handles; match on {@link #reason()} for the detail.
 */
public class FortressException extends RuntimeException {
  private final Status.Code code;
  private final String reason;
  private final Map<String, String> metadata;
  private final String requestId;

  FortressException(Status.Code code, String reason, Map<String, String> metadata, String message,
      String requestId, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.reason = reason;
    this.metadata = Map.copyOf(metadata);
    this.requestId = requestId;
  }

  /** The canonical gRPC status code. */
  public Status.Code code() {
    return code;
  }

  /** The ErrorInfo reason, such as {@code INSUFFICIENT_FUNDS}; empty when the server sent none. */
  public String reason() {
    return reason;
  }

  /** The ErrorInfo metadata, such as {@code field} for {@code INVALID_FIELD}. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** The mutation's request_id; empty for reads. */
  public String requestId() {
    return requestId;
  }

  /** The typed exception for a failed call. */
  static FortressException from(StatusRuntimeException e, String requestId) {
    Status status = e.getStatus();
    ErrorInfo info = errorInfo(e);
    String reason = info.getReason();
    Map<String, String> metadata = info.getMetadataMap();
    String message = status.getCode() + (reason.isEmpty() ? "" : " " + reason)
        + (status.getDescription() == null ? "" : ": " + status.getDescription());
    return switch (status.getCode()) {
      case INVALID_ARGUMENT -> new InvalidArgumentException(reason, metadata, message, requestId, e);
      case NOT_FOUND -> new NotFoundException(reason, metadata, message, requestId, e);
      case ALREADY_EXISTS -> new AlreadyExistsException(reason, metadata, message, requestId, e);
      case FAILED_PRECONDITION -> new FailedPreconditionException(reason, metadata, message, requestId, e);
      case ABORTED -> new AbortedException(reason, metadata, message, requestId, e);
      case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED ->
          new UnavailableException(status.getCode(), reason, metadata, message, requestId, e);
      default -> new FortressException(status.getCode(), reason, metadata, message, requestId, e);
    };
  }

  static ErrorInfo errorInfo(StatusRuntimeException e) {
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    if (status != null) {
      for (com.google.protobuf.Any detail : status.getDetailsList()) {
        if (detail.is(ErrorInfo.class)) {
          try {
            return detail.unpack(ErrorInfo.class);
          } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
            // A malformed detail is the same as none.
          }
        }
      }
    }
    return ErrorInfo.getDefaultInstance();
  }
}
