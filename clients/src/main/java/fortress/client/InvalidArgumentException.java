package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/** INVALID_ARGUMENT: The request is malformed; {@link #field()} names the field. Nothing changed. */
public final class InvalidArgumentException extends FortressException {
  InvalidArgumentException(ErrorInfo info, String message, String requestId, Throwable cause) {
    super(Status.Code.INVALID_ARGUMENT, info, message, requestId, cause);
  }

  /** The offending field, from the ErrorInfo metadata; empty if the server did not name one. */
  public String field() {
    return metadata().getOrDefault("field", "");
  }
}
