package fortress.proxy.route;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import fortress.ledger.v1.OperationError;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * The proxy's errors, in the ledger contract's form: a canonical code plus one ErrorInfo in the
 * domain {@code ledger.fortress.dev}. A node's own error passes through untouched; an error that
 * never reached a node (it was down, or the deadline passed) is given a reason here, so nothing
 * leaves the proxy as UNKNOWN or without an ErrorInfo.
 */
public final class Errors {
  public static final String DOMAIN = "ledger.fortress.dev";
  public static final String NODE_UNAVAILABLE = "NODE_UNAVAILABLE";
  public static final String WRONG_NODE = "WRONG_NODE";

  private Errors() {}

  public static StatusRuntimeException of(Status.Code code, String reason, String message, Map<String, String> meta) {
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(message)
        .addDetails(Any.pack(ErrorInfo.newBuilder().setReason(reason).setDomain(DOMAIN).putAllMetadata(meta).build()))
        .build());
  }

  /** INVALID_ARGUMENT naming the field, as the nodes report it. */
  /**
   * RESOURCE_EXHAUSTED / RATE_LIMITED: the tenant's calls are over its rate; RetryInfo says when
   * one would be allowed. Nothing was forwarded.
   */
  public static StatusRuntimeException rateLimited(String tenant, long retryAfterMs) {
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(Status.Code.RESOURCE_EXHAUSTED.value())
        .setMessage("tenant " + tenant + " is over its rate limit; retry after " + retryAfterMs + " ms")
        .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("RATE_LIMITED").setDomain(DOMAIN)
            .putMetadata("tenant_id", tenant).putMetadata("retry_after_ms", Long.toString(retryAfterMs)).build()))
        .addDetails(Any.pack(com.google.rpc.RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration
            .newBuilder().setSeconds(retryAfterMs / 1000).setNanos((int) (retryAfterMs % 1000) * 1_000_000)).build()))
        .build());
  }

  public static StatusRuntimeException invalid(String field, String problem) {
    String message = field + ": " + problem;
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(Status.Code.INVALID_ARGUMENT.value())
        .setMessage(message)
        .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("INVALID_FIELD").setDomain(DOMAIN)
            .putMetadata("field", field).build()))
        .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(
            BadRequest.FieldViolation.newBuilder().setField(field).setDescription(message)).build()))
        .build());
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

  public static String reason(Throwable t) {
    ErrorInfo info = info(t);
    return info == null ? null : info.getReason();
  }

  /** What the client sees for a failed call to a node. */
  public static StatusRuntimeException fromNode(Throwable t, String nodeId) {
    Throwable cause = unwrap(t);
    if (cause instanceof StatusRuntimeException e && info(e) != null) {
      return e; // the node's own answer
    }
    Status status = Status.fromThrowable(cause);
    return switch (status.getCode()) {
      case DEADLINE_EXCEEDED -> of(Status.Code.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "the deadline passed before "
          + "node " + nodeId + " answered; the outcome is uncertain, resolve it with GetOperation", Map.of("node", nodeId));
      case CANCELLED -> of(Status.Code.CANCELLED, "CANCELLED", "the call was cancelled", Map.of("node", nodeId));
      default -> of(Status.Code.UNAVAILABLE, NODE_UNAVAILABLE, "ledger node " + nodeId + " is unavailable; "
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
