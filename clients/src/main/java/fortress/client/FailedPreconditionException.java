package fortress.client;

import io.grpc.Status;
import java.util.Map;

/** FAILED_PRECONDITION: The ledger refused the mutation in its current state, e.g. {@code INSUFFICIENT_FUNDS}. Nothing changed; a retry is evaluated afresh. */
public final class FailedPreconditionException extends FortressException {
  FailedPreconditionException(String reason, Map<String, String> metadata, String message, String requestId, Throwable cause) {
    super(Status.Code.FAILED_PRECONDITION, reason, metadata, message, requestId, cause);
  }
}
