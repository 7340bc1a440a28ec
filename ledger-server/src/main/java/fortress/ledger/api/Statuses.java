package fortress.ledger.api;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import fortress.ledger.Reason;
import fortress.ledger.Rejection;
import fortress.ledger.v1.OperationError;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/** The one place domain rejections become gRPC statuses: a canonical code plus one ErrorInfo. */
final class Statuses {
  private Statuses() {}

  static StatusRuntimeException toException(Rejection r) {
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

  private static ErrorInfo errorInfo(Rejection r) {
    return ErrorInfo.newBuilder().setReason(r.reason().name()).setDomain(Reason.DOMAIN).putAllMetadata(r.metadata())
        .build();
  }
}
