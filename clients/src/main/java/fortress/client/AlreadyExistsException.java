package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/** ALREADY_EXISTS: The account exists already, or the request_id was used for a different request. */
public final class AlreadyExistsException extends FortressException {
  AlreadyExistsException(ErrorInfo info, String message, String requestId, Throwable cause) {
    super(Status.Code.ALREADY_EXISTS, info, message, requestId, cause);
  }
}
