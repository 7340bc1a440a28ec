package fortress.core.security;

import io.grpc.Context;
import java.util.Optional;
import java.util.Set;

/**
 * Who is making the current call, once authenticated: a token's subject, tenant and roles, or a
 * cluster member (a ledger node or the proxy) known by its certificate or the node token.
 */
public record Caller(String subject, String tenant, Set<String> roles, boolean member) {
  public static final String ADMIN = "admin";
  static final Context.Key<Caller> KEY = Context.key("fortress-caller");

  /** The caller of the call running on this thread, if authentication is on. */
  public static Optional<Caller> current() {
    return Optional.ofNullable(KEY.get());
  }

  public boolean admin() {
    return roles.contains(ADMIN);
  }

  static Caller member(String identity) {
    return new Caller(identity, null, Set.of(), true);
  }
}
