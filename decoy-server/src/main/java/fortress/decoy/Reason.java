package fortress.decoy;

import fortress.core.rpc.Rejection;
import io.grpc.Status;
import java.util.Map;

/**
 * Every expected outcome other than success, as the ErrorInfo reason clients see, with the
 * canonical status code it maps to (AIP-193).
 */
public enum Reason implements Rejection.Reason {
  INVALID_FIELD(Status.Code.INVALID_ARGUMENT),
  REQUEST_ID_REUSED(Status.Code.ALREADY_EXISTS),
  TEMPLATE_EXISTS(Status.Code.ALREADY_EXISTS),
  TEMPLATE_NOT_FOUND(Status.Code.NOT_FOUND),
  MODEL_NOT_FOUND(Status.Code.NOT_FOUND),
  /** ExportInteractions needs --shadow-target. */
  SHADOW_NOT_CONFIGURED(Status.Code.FAILED_PRECONDITION),
  /** The shadow server refused or could not be reached; retry with the same request_id. */
  SHADOW_UNAVAILABLE(Status.Code.UNAVAILABLE),
  STORAGE_UNAVAILABLE(Status.Code.UNAVAILABLE);

  public static final String DOMAIN = "decoy.fortress.dev";

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
