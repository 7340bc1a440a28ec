package fortress.client;

/**
 * A mutation whose outcome the client could not learn: an attempt failed with an uncertain error
 * (effect EFFECT_UNKNOWN: the connection was lost, the deadline passed, the node lost its
 * database while committing) and the retry budget ran out before GetOperation could settle it. It may still take effect. Resolve it later
 * with {@link FortressClient#getOperation(String, String)} (or {@link FortressClient#getHoldOperation}) on
 * {@link #requestId()}, or repeat the request
 * with the same request_id, which is always safe.
 */
public final class OutcomeUnknownException extends UnavailableException {
  OutcomeUnknownException(UnavailableException last) {
    super(last, "outcome unknown for request_id " + last.requestId() + " after retries; last error "
        + last.getMessage());
  }
}
