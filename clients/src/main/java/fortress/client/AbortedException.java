package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/** ABORTED: A cross-node transfer was aborted, e.g. {@code TRANSFER_ABORTED}. Nothing moved. */
public final class AbortedException extends FortressException {
  AbortedException(ErrorInfo info, String message, String requestId, Throwable cause) {
    super(Status.Code.ABORTED, info, message, requestId, cause);
  }
}
