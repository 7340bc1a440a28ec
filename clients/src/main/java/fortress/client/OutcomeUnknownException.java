package fortress.client;

import fortress.rpc.v1.Effect;

/**
 * A mutation whose outcome the client could not learn: an attempt failed with an uncertain error
 * (effect EFFECT_UNKNOWN: the connection was lost, the deadline passed, the node lost its database
 * while committing), and neither GetOperation nor a later attempt settled it before the retries
 * ran out or a later attempt was refused (a refusal of a later attempt does not settle it: the
 * earlier one may still land). It may still take effect. Resolve it later with {@link
 * FortressClient#getOperation(String, String)} (or {@link FortressClient#getHoldOperation}) on
 * {@link #requestId()}, or repeat the request with the same request_id, which is always safe. The
 * code, reason and metadata are the last error's; the cause is that error.
 */
public final class OutcomeUnknownException extends UnavailableException {
  OutcomeUnknownException(FortressException last) {
    super(last, "outcome unknown for request_id " + last.requestId() + "; last error " + last.getMessage());
  }

  /** Always EFFECT_UNKNOWN, whatever the last error's reason says. */
  @Override
  public Effect effect() {
    return Effect.EFFECT_UNKNOWN;
  }
}
