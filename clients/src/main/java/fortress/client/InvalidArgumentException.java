package fortress.client;

import io.grpc.Status;
import java.util.Map;

/** INVALID_ARGUMENT: The request is malformed; {@link #field()} names the field. Nothing changed. */
public final class InvalidArgumentException extends FortressException {
  InvalidArgumentException(String reason, Map<String, String> metadata, String message, String requestId, Throwable cause) {
    super(Status.Code.INVALID_ARGUMENT, reason, metadata, message, requestId, cause);
  }

  /** The offending field, from the ErrorInfo metadata; empty if the server did not name one. */
  public String field() {
    return metadata().getOrDefault("field", "");
  }
}
