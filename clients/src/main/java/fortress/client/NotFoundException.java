package fortress.client;

import io.grpc.Status;
import java.util.Map;

/** NOT_FOUND: The account, hold or operation does not exist (for this tenant). */
public final class NotFoundException extends FortressException {
  NotFoundException(String reason, Map<String, String> metadata, String message, String requestId, Throwable cause) {
    super(Status.Code.NOT_FOUND, reason, metadata, message, requestId, cause);
  }
}
