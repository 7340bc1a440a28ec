package fortress.client;

import com.google.protobuf.ProtocolMessageEnum;
import com.google.rpc.ErrorInfo;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/**
 * A call that did not succeed. Carries the canonical status code and the {@code ErrorInfo} the
 * server sent: its domain and reason, declared in the contract as an ErrorReason enum (match with
 * {@code e.is(fortress.ledger.v1.ErrorReason.INSUFFICIENT_FUNDS)}), and its metadata (for example
 * {@code field}). {@link #effect()} says whether the request certainly changed nothing.
 * Subclasses name the codes a caller usually handles.
 */
public class FortressException extends RuntimeException {
  private final Status.Code code;
  private final String domain;
  private final String reason;
  private final Map<String, String> metadata;
  private final String requestId;

  FortressException(Status.Code code, ErrorInfo info, String message, String requestId, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.domain = info.getDomain();
    this.reason = info.getReason();
    this.metadata = Map.copyOf(info.getMetadataMap());
    this.requestId = requestId;
  }

  FortressException(FortressException last, String message) {
    super(message, last);
    this.code = last.code;
    this.domain = last.domain;
    this.reason = last.reason;
    this.metadata = last.metadata;
    this.requestId = last.requestId;
  }

  /** The canonical gRPC status code. */
  public Status.Code code() {
    return code;
  }

  /** The ErrorInfo domain, such as {@code ledger.fortress.dev}; empty when the server sent none. */
  public String domain() {
    return domain;
  }

  /** The ErrorInfo reason, such as {@code INSUFFICIENT_FUNDS}; empty when the server sent none. */
  public String reason() {
    return reason;
  }

  /**
   * Whether the server said {@code reason}, a value of one of the contract's ErrorReason enums
   * ({@code fortress.ledger.v1.ErrorReason}, {@code fortress.auth.v1.ErrorReason}): the domain and
   * the name both match.
   */
  public boolean is(ProtocolMessageEnum reason) {
    ErrorReasons.Spec spec = ErrorReasons.spec(reason);
    return spec.domain().equals(domain) && spec.reason().equals(this.reason);
  }

  /**
   * What the error says about the request: EFFECT_NONE when it certainly changed nothing,
   * EFFECT_UNKNOWN when a mutation may have taken effect. A reason the contract declares has its
   * declared effect; an error without one (the connection was lost, the deadline passed) is
   * EFFECT_UNKNOWN when its code leaves the outcome open, EFFECT_NONE otherwise.
   */
  public Effect effect() {
    return ErrorReasons.effect(code, ErrorInfo.newBuilder().setDomain(domain).setReason(reason).build(),
        fortress.ledger.v1.ErrorReason.getDescriptor(), fortress.auth.v1.ErrorReason.getDescriptor());
  }

  /**
   * Whether this error settles a mutation even after an earlier attempt's outcome was unknown: it
   * is uncertain itself, or its reason is the request's recorded outcome (such as
   * TRANSFER_ABORTED). Any other refusal of a later attempt leaves the outcome open.
   */
  boolean settles() {
    return ErrorReasons.settles(code, ErrorInfo.newBuilder().setDomain(domain).setReason(reason).build(),
        fortress.ledger.v1.ErrorReason.getDescriptor(), fortress.auth.v1.ErrorReason.getDescriptor());
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
    String message = status.getCode() + (info.getReason().isEmpty() ? "" : " " + info.getReason())
        + (status.getDescription() == null ? "" : ": " + status.getDescription());
    return switch (status.getCode()) {
      case INVALID_ARGUMENT -> new InvalidArgumentException(info, message, requestId, e);
      case NOT_FOUND -> new NotFoundException(info, message, requestId, e);
      case ALREADY_EXISTS -> new AlreadyExistsException(info, message, requestId, e);
      case FAILED_PRECONDITION -> new FailedPreconditionException(info, message, requestId, e);
      case ABORTED -> new AbortedException(info, message, requestId, e);
      case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED ->
          new UnavailableException(status.getCode(), info, message, requestId, e);
      default -> new FortressException(status.getCode(), info, message, requestId, e);
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
