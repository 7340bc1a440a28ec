package fortress.ledger.api;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import fortress.ledger.Reason;
import fortress.ledger.Rejection;
import fortress.ledger.v1.OperationError;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.Optional;

/** The one place domain rejections become gRPC statuses: a canonical code plus one ErrorInfo. */
public final class Statuses {
  private Statuses() {}

  public static StatusRuntimeException toException(Rejection r) {
    com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
        .setCode(r.reason().code().value())
        .setMessage(r.message())
        .addDetails(Any.pack(errorInfo(r)));
    String field = r.metadata().get("field");
    if (r.reason() == Reason.INVALID_FIELD && field != null) {
      status.addDetails(Any.pack(BadRequest.newBuilder()
          .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(r.message()))
          .build()));
    }
    return StatusProto.toStatusRuntimeException(status.build());
  }

  static OperationError toOperationError(Rejection r) {
    return OperationError.newBuilder()
        .setCode(r.reason().code().value())
        .setReason(r.reason().name())
        .setMessage(r.message())
        .putAllMetadata(r.metadata())
        .build();
  }

  /**
   * The rejection a peer node's error carries in its ErrorInfo, or empty when the error has none
   * of ours (the call never reached the node, or timed out).
   */
  public static Optional<Rejection> fromException(Throwable t) {
    com.google.rpc.Status status = StatusProto.fromThrowable(t);
    if (status == null) {
      return Optional.empty();
    }
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          ErrorInfo info = detail.unpack(ErrorInfo.class);
          Reason reason = Reason.valueOf(info.getReason());
          return Optional.of(new Rejection(reason, status.getMessage(), info.getMetadataMap()));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  private static ErrorInfo errorInfo(Rejection r) {
    return ErrorInfo.newBuilder().setReason(r.reason().name()).setDomain(Reason.DOMAIN).putAllMetadata(r.metadata())
        .build();
  }
}
