package fortress.client;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;

/**
 * The service could not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED) and
 * the client's retries ran out. Thrown for reads, and for a mutation whose every attempt was
 * certainly refused ({@link #effect()} EFFECT_NONE: nothing changed); a mutation that may have
 * taken effect throws {@link OutcomeUnknownException} instead.
 */
public class UnavailableException extends FortressException {
  UnavailableException(Status.Code code, ErrorInfo info, String message, String requestId, Throwable cause) {
    super(code, info, message, requestId, cause);
  }

  UnavailableException(FortressException last, String message) {
    super(last, message);
  }
}
