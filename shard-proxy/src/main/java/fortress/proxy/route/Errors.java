package fortress.proxy.route;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import fortress.core.rpc.ErrorStatus;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.OperationError;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * The proxy's errors, in the ledger contract's form: a {@link ErrorReason} with its declared code,
 * as one ErrorInfo in the domain {@code ledger.fortress.dev}. A node's own error passes through untouched; an error that
 * never reached a node (it was down, or the deadline passed) is given a reason here, so nothing
 * leaves the proxy as UNKNOWN or without an ErrorInfo.
 */
public final class Errors {
  private Errors() {}

  public static StatusRuntimeException of(ErrorReason reason, String message, Map<String, String> meta) {
    return ErrorStatus.of(reason, message, meta);
  }

  /**
   * RESOURCE_EXHAUSTED / RATE_LIMITED: the tenant's calls are over its rate; RetryInfo says when
   * one would be allowed. Nothing was forwarded.
   */
  public static StatusRuntimeException rateLimited(String tenant, long retryAfterMs) {
    com.google.rpc.Status status = StatusProto.fromThrowable(of(ErrorReason.RATE_LIMITED,
        "tenant " + tenant + " is over its rate limit; retry after " + retryAfterMs + " ms",
        Map.of("tenant_id", tenant, "retry_after_ms", Long.toString(retryAfterMs))));
    return StatusProto.toStatusRuntimeException(status.toBuilder()
        .addDetails(Any.pack(com.google.rpc.RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration
            .newBuilder().setSeconds(retryAfterMs / 1000).setNanos((int) (retryAfterMs % 1000) * 1_000_000)).build()))
        .build());
  }

  /** INVALID_ARGUMENT naming the field, as the nodes report it. */
  public static StatusRuntimeException invalid(String field, String problem) {
    return of(ErrorReason.INVALID_FIELD, field + ": " + problem, Map.of("field", field));
  }

  /** The ErrorInfo a node put in its error, or null when there is none. */
  public static ErrorInfo info(Throwable t) {
    com.google.rpc.Status status = StatusProto.fromThrowable(unwrap(t));
    if (status == null) {
      return null;
    }
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          return detail.unpack(ErrorInfo.class);
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }

  /** The ledger reason a node's error names; ERROR_REASON_UNSPECIFIED when it names none. */
  public static ErrorReason reason(Throwable t) {
    ErrorInfo info = info(t);
    return info == null ? ErrorReason.ERROR_REASON_UNSPECIFIED : reason(info);
  }

  /** The ledger reason of one SubmitBatch result's error. */
  public static ErrorReason reason(OperationError error) {
    return reason(info(error));
  }

  private static ErrorReason reason(ErrorInfo info) {
    return ErrorReasons.find(ErrorReason.getDescriptor(), info).map(ErrorReason::valueOf)
        .orElse(ErrorReason.ERROR_REASON_UNSPECIFIED);
  }

  /** A SubmitBatch result's error as the ErrorInfo it stands for (the ledger's domain). */
  private static ErrorInfo info(OperationError error) {
    return ErrorInfo.newBuilder().setDomain(ErrorReasons.domain(ErrorReason.getDescriptor()))
        .setReason(error.getReason()).build();
  }

  /** The ErrorInfo of an error, or an empty one when it has none of ours. */
  private static ErrorInfo infoOrEmpty(StatusRuntimeException e) {
    ErrorInfo info = info(e);
    return info == null ? ErrorInfo.getDefaultInstance() : info;
  }

  /**
   * Whether the error leaves a mutation's outcome open: its reason's effect is EFFECT_UNKNOWN (or,
   * with no ledger reason, its code is one that does).
   */
  public static boolean isUncertain(StatusRuntimeException e) {
    return ErrorReasons.effect(e.getStatus().getCode(), infoOrEmpty(e), ErrorReason.getDescriptor())
        == Effect.EFFECT_UNKNOWN;
  }

  /** Whether an answer settles a mutation after an earlier, uncertain attempt ({@link ErrorReasons#settles}). */
  public static boolean settles(StatusRuntimeException e) {
    return ErrorReasons.settles(e.getStatus().getCode(), infoOrEmpty(e), ErrorReason.getDescriptor());
  }

  /**
   * One operation's error in a SubmitBatch answered after an earlier, uncertain attempt of the
   * batch: unless it settles the operation (see {@link #settles}), the outcome stays unknown.
   */
  public static OperationError afterUncertain(OperationError error, StatusRuntimeException earlier) {
    if (ErrorReasons.settles(io.grpc.Status.fromCodeValue(error.getCode()).getCode(), info(error),
        ErrorReason.getDescriptor())) {
      return error;
    }
    return OperationError.newBuilder()
        .setCode(ErrorReasons.code(ErrorReason.OUTCOME_UNKNOWN).value())
        .setReason(ErrorReason.OUTCOME_UNKNOWN.name())
        .setMessage("an earlier attempt of this batch may have applied the operation (" + earlier.getStatus()
            .getDescription() + "); resolve it with GetOperation; this attempt: " + error.getReason() + " "
            + error.getMessage())
        .build();
  }

  /** What the client sees for a failed call to a node. */
  public static StatusRuntimeException fromNode(Throwable t, String nodeId) {
    Throwable cause = unwrap(t);
    if (cause instanceof StatusRuntimeException e && info(e) != null) {
      return e; // the node's own answer
    }
    Status status = Status.fromThrowable(cause);
    return switch (status.getCode()) {
      case DEADLINE_EXCEEDED -> of(ErrorReason.DEADLINE_EXCEEDED, "the deadline passed before "
          + "node " + nodeId + " answered; the outcome is uncertain, resolve it with GetOperation", Map.of("node", nodeId));
      case CANCELLED -> of(ErrorReason.CANCELLED, "the call was cancelled", Map.of("node", nodeId));
      default -> of(ErrorReason.NODE_UNAVAILABLE, "ledger node " + nodeId + " is unavailable; "
          + "the outcome is uncertain, resolve it with GetOperation or retry with the same request_id",
          Map.of("node", nodeId));
    };
  }

  /** The same, as one SubmitBatch result's error. */
  public static OperationError operationError(Throwable t, String nodeId) {
    StatusRuntimeException e = fromNode(t, nodeId);
    ErrorInfo info = info(e);
    return OperationError.newBuilder()
        .setCode(e.getStatus().getCode().value())
        .setReason(info.getReason())
        .setMessage(e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription())
        .putAllMetadata(info.getMetadataMap())
        .build();
  }

  static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
