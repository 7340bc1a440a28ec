package fortress.client;

import io.grpc.Status;
import java.util.Map;

/** ALREADY_EXISTS: The account exists already, or the request_id was used for a different request. */
public final class AlreadyExistsException extends FortressException {
  AlreadyExistsException(String reason, Map<String, String> metadata, String message, String requestId, Throwable cause) {
    super(Status.Code.ALREADY_EXISTS, reason, metadata, message, requestId, cause);
  }
}
