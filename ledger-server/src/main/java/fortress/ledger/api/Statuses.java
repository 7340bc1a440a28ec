package fortress.ledger.api;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import fortress.core.rpc.ErrorStatus;
import fortress.ledger.Rejection;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.OperationError;
import fortress.rpc.ErrorReasons;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Optional;

/** The one place domain rejections become gRPC statuses: a canonical code plus one ErrorInfo. */
public final class Statuses {
  private Statuses() {}

  public static StatusRuntimeException toException(Rejection r) {
    return ErrorStatus.of(r.reason(), r.message(), r.metadata());
  }

  static OperationError toOperationError(Rejection r) {
    return OperationError.newBuilder()
        .setCode(ErrorReasons.code(r.reason()).value())
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
          return ErrorReasons.find(ErrorReason.getDescriptor(), info)
              .map(value -> new Rejection(ErrorReason.valueOf(value), status.getMessage(), info.getMetadataMap()));
        } catch (InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }
}
