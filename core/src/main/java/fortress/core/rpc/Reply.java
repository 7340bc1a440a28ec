package fortress.core.rpc;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a unary handler answers: its response, its {@link Rejection} as a status, or, for anything
 * unexpected, a retryable status that reveals nothing (the cause goes to the log).
 */
public final class Reply {
  private static final Logger log = LoggerFactory.getLogger(Reply.class);

  private Reply() {}

  /** A handler's work. */
  @FunctionalInterface
  public interface Handler<T> {
    T get() throws SQLException;
  }

  public static <T> void unary(StreamObserver<T> out, Handler<T> handler,
      Supplier<StatusRuntimeException> unexpected) {
    T response;
    try {
      response = handler.get();
    } catch (Rejection e) {
      out.onError(e.toStatus());
      return;
    } catch (SQLException | RuntimeException e) {
      log.error("unexpected failure", e);
      out.onError(unexpected.get());
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }
}
