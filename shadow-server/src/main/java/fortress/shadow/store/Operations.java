package fortress.shadow.store;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fortress.core.rpc.Rejection;
import fortress.shadow.v1.ErrorReason;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/** The shadow server's idempotent mutations (AIP-155): {@link fortress.core.store.Operations} with its own reason. */
public final class Operations {
  private Operations() {}

  public static <T extends Message> T once(Connection c, String requestId, Message request, Parser<T> parser,
      fortress.core.store.Operations.Mutation<T> mutation) throws SQLException {
    return fortress.core.store.Operations.once(c, requestId, request, parser, mutation,
        id -> new Rejection(ErrorReason.REQUEST_ID_REUSED, "request_id " + id + " was already used for a different request",
            Map.of("request_id", id)));
  }
}
