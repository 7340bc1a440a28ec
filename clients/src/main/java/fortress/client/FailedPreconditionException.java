package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/** FAILED_PRECONDITION: The ledger refused the mutation in its current state, e.g. {@code INSUFFICIENT_FUNDS}. Nothing changed; a retry is evaluated afresh. */
public final class FailedPreconditionException extends FortressException {
  FailedPreconditionException(ErrorInfo info, String message, String requestId, Throwable cause) {
    super(Status.Code.FAILED_PRECONDITION, info, message, requestId, cause);
  }
}
