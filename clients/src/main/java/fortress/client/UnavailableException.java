package fortress.client;

import io.grpc.Status;
import java.util.Map;

/**
 * The service could not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED) and
 * the client's retries ran out. Thrown for reads; a mutation in this state throws
 * {@link OutcomeUnknownException} instead.
 */
public class UnavailableException extends FortressException {
  UnavailableException(Status.Code code, String reason, Map<String, String> metadata, String message,
      String requestId, Throwable cause) {
    super(code, reason, metadata, message, requestId, cause);
  }
}
