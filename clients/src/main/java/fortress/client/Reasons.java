package fortress.client;

/**
 * The ErrorInfo reasons the ledger returns (domain {@code ledger.fortress.dev}), as constants to
 * compare with {@link FortressException#reason()}.
 */
public final class Reasons {
  private Reasons() {}

  /** INVALID_ARGUMENT: a field is missing or malformed; metadata {@code field} names it. */
  public static final String INVALID_FIELD = "INVALID_FIELD";
  /** NOT_FOUND: no such account for this tenant. */
  public static final String ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND";
  /** ALREADY_EXISTS: CreateAccount for an account that exists. */
  public static final String ACCOUNT_ALREADY_EXISTS = "ACCOUNT_ALREADY_EXISTS";
  /** ALREADY_EXISTS: the request_id was used before for a different request. */
  public static final String REQUEST_ID_REUSED = "REQUEST_ID_REUSED";
  /** FAILED_PRECONDITION: the available balance is too small. */
  public static final String INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS";
  /** FAILED_PRECONDITION: the credit would overflow the account. */
  public static final String BALANCE_OVERFLOW = "BALANCE_OVERFLOW";
  /** NOT_FOUND: no such hold. */
  public static final String HOLD_NOT_FOUND = "HOLD_NOT_FOUND";
  /** FAILED_PRECONDITION: the hold was captured or released already. */
  public static final String HOLD_NOT_ACTIVE = "HOLD_NOT_ACTIVE";
  /** FAILED_PRECONDITION: the hold timed out and was released. */
  public static final String HOLD_EXPIRED = "HOLD_EXPIRED";
  /** FAILED_PRECONDITION: the capture asks for more than the hold reserved. */
  public static final String CAPTURE_EXCEEDS_HOLD = "CAPTURE_EXCEEDS_HOLD";
  /** NOT_FOUND: GetOperation found no mutation with this request_id; it has not taken effect. */
  public static final String OPERATION_NOT_FOUND = "OPERATION_NOT_FOUND";
  /** ABORTED: a cross-node transfer was aborted; nothing moved. */
  public static final String TRANSFER_ABORTED = "TRANSFER_ABORTED";
  /** UNAVAILABLE: a cross-node transfer with this request_id is still being decided. */
  public static final String TRANSFER_IN_PROGRESS = "TRANSFER_IN_PROGRESS";
  /** RESOURCE_EXHAUSTED: the node's write queue is full; nothing changed. */
  public static final String WRITER_QUEUE_FULL = "WRITER_QUEUE_FULL";
  /** UNAVAILABLE: the node that owns the account could not be reached. */
  public static final String NODE_UNAVAILABLE = "NODE_UNAVAILABLE";
  /** RESOURCE_EXHAUSTED: the tenant is over its rate limit; RetryInfo says when to retry. Nothing changed. */
  public static final String RATE_LIMITED = "RATE_LIMITED";
  /** UNAUTHENTICATED (domain auth.fortress.dev): no bearer token was sent. */
  public static final String TOKEN_MISSING = "TOKEN_MISSING";
  /** UNAUTHENTICATED (domain auth.fortress.dev): the token's signature, algorithm or claims are wrong. */
  public static final String TOKEN_INVALID = "TOKEN_INVALID";
  /** UNAUTHENTICATED (domain auth.fortress.dev): the token has expired. */
  public static final String TOKEN_EXPIRED = "TOKEN_EXPIRED";
  /** PERMISSION_DENIED (domain auth.fortress.dev): the request names a tenant other than the token's. */
  public static final String TENANT_FORBIDDEN = "TENANT_FORBIDDEN";
  /** PERMISSION_DENIED (domain auth.fortress.dev): the call needs the admin role. */
  public static final String ADMIN_REQUIRED = "ADMIN_REQUIRED";
}
