package fortress.client;

import io.grpc.Status;
import java.util.Map;

/** ABORTED: A cross-node transfer was aborted, e.g. {@code TRANSFER_ABORTED}. Nothing moved. */
public final class AbortedException extends FortressException {
  AbortedException(String reason, Map<String, String> metadata, String message, String requestId, Throwable cause) {
    super(Status.Code.ABORTED, reason, metadata, message, requestId, cause);
  }
}
