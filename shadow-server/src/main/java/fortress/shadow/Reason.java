package fortress.shadow;

import fortress.core.rpc.Rejection;
import io.grpc.Status;
import java.util.Map;

/**
 * Every expected outcome other than success, as the ErrorInfo reason clients see, with the
 * canonical status code it maps to (AIP-193).
 */
public enum Reason implements Rejection.Reason {
  INVALID_FIELD(Status.Code.INVALID_ARGUMENT),
  /** The CEL expression does not parse or type-check; metadata has line and column. */
  INVALID_EXPRESSION(Status.Code.INVALID_ARGUMENT),
  /** The expression's estimated cost exceeds the server's limit. */
  EXPRESSION_TOO_COSTLY(Status.Code.INVALID_ARGUMENT),
  REQUEST_ID_REUSED(Status.Code.ALREADY_EXISTS),
  RULE_VERSION_EXISTS(Status.Code.ALREADY_EXISTS),
  OUTCOME_ALREADY_REPORTED(Status.Code.ALREADY_EXISTS),
  RULE_NOT_FOUND(Status.Code.NOT_FOUND),
  DATASET_NOT_FOUND(Status.Code.NOT_FOUND),
  EVALUATION_NOT_FOUND(Status.Code.NOT_FOUND),
  ROLLOUT_NOT_FOUND(Status.Code.NOT_FOUND),
  DECISION_NOT_FOUND(Status.Code.NOT_FOUND),
  /** Deploys and rollouts need a PASS evaluation of exactly that rule version. */
  SHADOW_EVALUATION_REQUIRED(Status.Code.FAILED_PRECONDITION),
  ROLLOUT_IN_PROGRESS(Status.Code.FAILED_PRECONDITION),
  ROLLOUT_NOT_ACTIVE(Status.Code.FAILED_PRECONDITION),
  ALREADY_CHAMPION(Status.Code.FAILED_PRECONDITION),
  DATASET_FULL(Status.Code.RESOURCE_EXHAUSTED),
  STORAGE_UNAVAILABLE(Status.Code.UNAVAILABLE);

  public static final String DOMAIN = "shadow.fortress.dev";

  private final Status.Code code;

  Reason(Status.Code code) {
    this.code = code;
  }

  @Override
  public Status.Code code() {
    return code;
  }

  @Override
  public String domain() {
    return DOMAIN;
  }

  /** INVALID_ARGUMENT naming the field, e.g. {@code invalid("dataset", "must be 1-64 of [a-z0-9._-]")}. */
  public static Rejection invalid(String field, String problem) {
    return Rejection.invalid(INVALID_FIELD, field, problem);
  }
}
