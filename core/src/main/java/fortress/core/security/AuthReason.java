package fortress.core.security;

import fortress.core.rpc.Rejection;
import io.grpc.Status;

/** Why a call was refused before it reached the service: the ErrorInfo reasons under {@link #DOMAIN}. */
public enum AuthReason implements Rejection.Reason {
  /** No credentials: no {@code authorization: Bearer} token (or node credential) on the call. */
  TOKEN_MISSING(Status.Code.UNAUTHENTICATED),
  /** The token does not parse, its signature or algorithm is wrong, or a required claim is missing or wrong. */
  TOKEN_INVALID(Status.Code.UNAUTHENTICATED),
  /** The token's {@code exp} has passed. */
  TOKEN_EXPIRED(Status.Code.UNAUTHENTICATED),
  /** The call needs the admin role, which the token does not carry. */
  ADMIN_REQUIRED(Status.Code.PERMISSION_DENIED),
  /** The call is scoped to a tenant and the token names none. */
  TENANT_REQUIRED(Status.Code.PERMISSION_DENIED),
  /** The request names a tenant other than the token's. */
  TENANT_FORBIDDEN(Status.Code.PERMISSION_DENIED),
  /** Only cluster members (ledger nodes, and for some calls the proxy) may call this. */
  PEER_FORBIDDEN(Status.Code.PERMISSION_DENIED);

  public static final String DOMAIN = "auth.fortress.dev";

  private final Status.Code code;

  AuthReason(Status.Code code) {
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
}
