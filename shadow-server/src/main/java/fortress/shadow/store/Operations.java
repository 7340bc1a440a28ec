package fortress.shadow.store;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fortress.core.rpc.Rejection;
import fortress.core.security.Caller;
import fortress.shadow.v1.ErrorReason;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

/**
 * The shadow server's idempotent mutations (AIP-155), like {@link fortress.core.store.Operations}
 * but keyed by caller and request_id: a request_id belongs to the caller that sent it, so another
 * caller's same id is neither answered from this caller's record nor refused as a reuse. Inside
 * the mutation's own transaction the (caller, request_id) pair is locked, an earlier response with
 * the same body is returned as it was, the same pair with another body is REQUEST_ID_REUSED, and
 * otherwise the work runs and its response is recorded before commit.
 */
public final class Operations {
  /** The caller with tokens off: a local server has one. */
  public static final String ANONYMOUS = "anonymous";

  private Operations() {}

  /**
   * The caller's key: its token's subject, length-prefixed so no (subject, tenant) pair reads as
   * another, and its tenant (empty for none); {@link #ANONYMOUS} with tokens off. An encoded key
   * starts with a digit, so it is never {@link #ANONYMOUS}.
   */
  public static String caller(Optional<Caller> caller) {
    return caller.map(c -> c.subject().length() + ":" + c.subject() + "/" + (c.tenant() == null ? "" : c.tenant()))
        .orElse(ANONYMOUS);
  }

  public static <T extends Message> T once(Connection c, String caller, String requestId, Message request,
      Parser<T> parser, fortress.core.store.Operations.Mutation<T> mutation) throws SQLException {
    checkArgument(!caller.isEmpty(), "an idempotency record needs a caller");
    return fortress.core.store.Operations.once(c, caller, requestId, request, parser, mutation,
        id -> new Rejection(ErrorReason.REQUEST_ID_REUSED, "request_id " + id + " was already used for a different "
            + "request", Map.of("request_id", id)));
  }
}
