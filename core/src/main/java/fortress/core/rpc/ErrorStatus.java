package fortress.core.rpc;

import com.google.protobuf.Any;
import com.google.protobuf.ProtocolMessageEnum;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import fortress.rpc.ErrorReasons;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/**
 * How every Fortress server turns an expected outcome into a gRPC error (AIP-193): the canonical
 * code, a message for people, and one ErrorInfo whose reason clients match on. When the metadata
 * names a {@code field}, a BadRequest field violation says the same for tools that read those.
 */
public final class ErrorStatus {
  private ErrorStatus() {}

  /** The error for {@code reason}, with the status code and domain the contract declares for it. */
  public static StatusRuntimeException of(ProtocolMessageEnum reason, String message, Map<String, String> metadata) {
    ErrorReasons.Spec spec = ErrorReasons.spec(reason);
    return of(spec.code(), spec.domain(), spec.reason(), message, metadata);
  }

  public static StatusRuntimeException of(Status.Code code, String domain, String reason, String message,
      Map<String, String> metadata) {
    com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(message)
        .addDetails(Any.pack(ErrorInfo.newBuilder().setReason(reason).setDomain(domain).putAllMetadata(metadata)
            .build()));
    String field = metadata.get("field");
    if (code == Status.Code.INVALID_ARGUMENT && field != null) {
      status.addDetails(Any.pack(BadRequest.newBuilder()
          .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(message))
          .build()));
    }
    return StatusProto.toStatusRuntimeException(status.build());
  }
}
