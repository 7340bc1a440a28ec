package fortress.client;

/**
 * A mutation whose outcome the client could not learn: every attempt failed with UNAVAILABLE or
 * DEADLINE_EXCEEDED and GetOperation never found it. It may still take effect. Resolve it later
 * with {@link FortressClient#getOperation(String, String)} (or {@link FortressClient#getHoldOperation}) on
 * {@link #requestId()}, or repeat the request
 * with the same request_id, which is always safe.
 */
public final class OutcomeUnknownException extends UnavailableException {
  OutcomeUnknownException(UnavailableException last) {
    super(last.code(), last.reason(), last.metadata(),
        "outcome unknown for request_id " + last.requestId() + " after retries; last error " + last.getMessage(),
        last.requestId(), last.getCause());
  }
}
