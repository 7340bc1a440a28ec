package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/** NOT_FOUND: The account, hold or operation does not exist (for this tenant). */
public final class NotFoundException extends FortressException {
  NotFoundException(ErrorInfo info, String message, String requestId, Throwable cause) {
    super(Status.Code.NOT_FOUND, info, message, requestId, cause);
  }
}
