package fortress.proxy.api;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Completes a server call from a future: its value, or its error as the client should see it. */
final class Replies {
  private static final Logger log = LoggerFactory.getLogger(Replies.class);

  private Replies() {}

  static <T> void reply(CompletableFuture<T> future, StreamObserver<T> out) {
    future.whenComplete((value, error) -> {
      try {
        if (error != null) {
          out.onError(error instanceof StatusRuntimeException e ? e : fortress.proxy.route.Errors.fromNode(error, "?"));
        } else {
          out.onNext(value);
          out.onCompleted();
        }
      } catch (StatusRuntimeException e) {
        log.debug("call ended before its answer was sent: {}", e.getStatus());
      }
    });
  }
}
