package fortress.core.rpc;

import fortress.core.Ports;
import fortress.core.Settings;
import fortress.core.security.Guard;
import fortress.core.security.Limits;
import fortress.core.security.Tokens;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A second, plaintext listener that serves only {@code grpc.health.v1.Health}, from the server's
 * own {@link HealthStatusManager}: for probes that cannot present a client certificate (the
 * kubelet's gRPC probes) when the main listener requires mTLS. It serves nothing else (no
 * reflection), under the same {@link Limits} and public-stream cap. Off unless a port is set.
 */
public final class HealthPort implements AutoCloseable {
  /** Where it listens; a port of -1 serves none. */
  public record Config(String host, int port) {
    public static final Config OFF = new Config("127.0.0.1", -1);

    /** Reads --health-host and --health-port. */
    public static Config read(Settings s) {
      return new Config(s.string("health-host", "127.0.0.1", "address the plaintext health-only listener binds"),
          s.integer("health-port", -1, -1, 65535, "a plaintext listener serving only grpc.health.v1.Health, for "
              + "probes that cannot speak mTLS; 0 picks a free port, -1 (the default) serves none"));
    }
  }

  private final Server server;

  private HealthPort(Server server) {
    this.server = server;
  }

  /**
   * Starts the listener beside {@code main} if {@code config} names a port, and stops it when
   * {@code main} terminates. If it cannot start (its port is taken, see {@link Ports}), {@code main}
   * is stopped too and the failure thrown: a server never runs without the probe port it was given.
   */
  public static HealthPort start(Config config, Limits limits, HealthStatusManager health, Server main)
      throws IOException {
    if (config.port() < 0) {
      return new HealthPort(null);
    }
    HealthPort port;
    try {
      port = start(config, limits, health);
    } catch (IOException | RuntimeException e) {
      main.shutdownNow();
      throw e;
    }
    Thread watcher = new Thread(() -> {
      try {
        main.awaitTermination();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      port.close();
    }, "health-port-" + port.port());
    watcher.setDaemon(true);
    watcher.start();
    return port;
  }

  private static HealthPort start(Config config, Limits limits, HealthStatusManager health) throws IOException {
    Guard publicOnly = Guard.builder(Tokens.OFF, Guard.Members.OFF).publicCallsMax(limits.publicCallsMax()).build();
    Server server = Ports.bind("health-port", config.host(), config.port(), () -> limits.applyTo(
            NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port())))
        .intercept(publicOnly)
        .addService(health.getHealthService())
        .build().start());
    return new HealthPort(server);
  }

  /** The bound port, or -1 when off. */
  public int port() {
    return server == null ? -1 : server.getPort();
  }

  @Override
  public void close() {
    if (server != null) {
      server.shutdownNow();
    }
  }
}
