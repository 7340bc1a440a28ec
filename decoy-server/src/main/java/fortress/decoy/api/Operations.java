package fortress.decoy.api;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fortress.core.rpc.Rejection;
import fortress.decoy.v1.ErrorReason;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/** The decoy server's idempotent mutations (AIP-155): {@link fortress.core.store.Operations} with its own reason. */
final class Operations {
  private Operations() {}

  /**
   * A mutation's response, and whether this call applied it ({@code false}: a replay answered
   * with the recorded response, and nothing may change, in the database or in memory).
   */
  record Outcome<T>(T response, boolean applied) {}

  static <T extends Message> Outcome<T> once(Connection c, String requestId, Message request, Parser<T> parser,
      fortress.core.store.Operations.Mutation<T> mutation) throws SQLException {
    boolean[] applied = {false};
    T response = fortress.core.store.Operations.once(c, requestId, request, parser, () -> {
      applied[0] = true;
      return mutation.apply();
    }, Operations::reused);
    return new Outcome<>(response, applied[0]);
  }

  static Rejection reused(String requestId) {
    return new Rejection(ErrorReason.REQUEST_ID_REUSED, "request_id " + requestId
        + " was already used for a different request", Map.of("request_id", requestId));
  }
}
