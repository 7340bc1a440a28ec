package fortress.core.rpc;

import io.grpc.Server;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Stopping a gRPC server the same way in every Fortress server. */
public final class Servers {
  private static final Logger log = LoggerFactory.getLogger(Servers.class);

  private Servers() {}

  /**
   * Stops taking calls and lets in-flight ones finish for up to {@code graceMs}, then cancels
   * what is left. If interrupted, cancels at once and keeps the interrupt.
   */
  public static void drain(Server server, long graceMs) {
    server.shutdown();
    try {
      if (!server.awaitTermination(graceMs, TimeUnit.MILLISECONDS)) {
        log.warn("calls still running after {} ms; cancelling them", graceMs);
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
