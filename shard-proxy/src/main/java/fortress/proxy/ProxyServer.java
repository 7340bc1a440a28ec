package fortress.proxy;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.RingNode;
import fortress.core.Ports;
import fortress.core.ring.RingFile;
import fortress.core.rpc.Servers;
import fortress.core.rpc.StrictRequests;
import fortress.core.security.Guard;
import fortress.core.security.Security;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.proxy.api.ClusterProxy;
import fortress.proxy.api.LedgerProxy;
import fortress.proxy.audit.Audit;
import fortress.proxy.redis.RateLimiter;
import fortress.proxy.redis.RedisStore;
import fortress.proxy.route.Forwarder;
import fortress.proxy.route.Nodes;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running shard proxy: LedgerService and ClusterService over the ring, with health and
 * reflection. It holds no state; close() turns health NOT_SERVING, drains calls and closes the
 * channels to the nodes.
 */
public final class ProxyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
  /**
   * While calls are open on a connection to a node, it is pinged after this long without traffic,
   * so a connection to a node that vanished (its host gone, the network cut) fails its calls
   * instead of leaving them to their deadlines. A node whose process is stopped while its kernel
   * still accepts connections is not caught this way: the calls retried on a new connection wait
   * for their deadline (the caller's, or --call-timeout-ms-default). A node refuses pings more
   * often than every 10 s (its --min-client-ping-interval-ms) and pings without calls at all.
   */
  static final long NODE_KEEPALIVE_MS = 30_000;
  static final long NODE_KEEPALIVE_TIMEOUT_MS = 10_000;

  private final ProxyConfig config;
  private final Server server;
  private final HealthStatusManager health;
  private final Nodes nodes;
  private final ScheduledExecutorService executor;
  private boolean closed;

  private final Telemetry telemetry;

  private final RedisStore redis;

  private ProxyServer(ProxyConfig config, Server server, HealthStatusManager health, Nodes nodes,
      ScheduledExecutorService executor, Telemetry telemetry, RedisStore redis) {
    this.telemetry = telemetry;
    this.redis = redis;
    this.config = config;
    this.server = server;
    this.health = health;
    this.nodes = nodes;
    this.executor = executor;
  }

  public static ProxyServer start(ProxyConfig config) throws IOException {
    ScheduledExecutorService executor = executor(config);
    Security security = config.security();
    Telemetry telemetry = Telemetry.start(config.telemetry());
    try {
      return start(config, security.server(config.host(), config.grpcPort()),
          node -> security.tls().channel(node.getAddress()).intercept(telemetry.clientInterceptor()).executor(executor)
              .keepAliveTime(NODE_KEEPALIVE_MS, TimeUnit.MILLISECONDS)
              .keepAliveTimeout(NODE_KEEPALIVE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
              .build(), executor, telemetry);
    } catch (IOException | RuntimeException e) {
      telemetry.close();
      throw e;
    }
  }

  /** Starts on the given transport, reaching nodes through {@code connect}; tests pass in-process ones. */
  public static ProxyServer start(ProxyConfig config, ServerBuilder<?> builder,
      Function<RingNode, ManagedChannel> connect) throws IOException {
    return start(config, builder, connect, executor(config), Telemetry.NOOP);
  }

  private static ScheduledExecutorService executor(ProxyConfig config) {
    return Executors.newScheduledThreadPool(config.serverThreads(),
        new ThreadFactoryBuilder().setNameFormat("proxy-%d").setDaemon(true).build());
  }

  private static ProxyServer start(ProxyConfig config, ServerBuilder<?> builder,
      Function<RingNode, ManagedChannel> connect, ScheduledExecutorService executor, Telemetry telemetry)
      throws IOException {
    RingFile ring = RingFile.open(config.ringFile());
    Nodes nodes = new Nodes(ring, connect, config.security().memberCredentials());
    nodes.keepConnected(executor);
    Forwarder forwarder = new Forwarder(nodes, executor, config.callTimeoutMsDefault(), config.retriesMax(),
        config.retryBackoffMs());
    HealthStatusManager health = new HealthStatusManager();
    ClusterProxy cluster = new ClusterProxy(forwarder);
    RedisStore redis = config.redisUrl() == null ? null
        : RedisStore.connect(config.redisUrl(), config.redisTimeoutMs(), executor, telemetry.meter());
    RateLimiter limiter = config.rateLimitPerSecond() == 0 ? null
        : new RateLimiter(redis, config.rateLimitPerSecond(), config.rateLimitBurst(), telemetry.meter());
    ServerBuilder<?> configured = builder
        .executor(executor)
        .intercept(guard(config))
        .intercept(telemetry.serverInterceptor())
        .addService(StrictRequests.of(new LedgerProxy(forwarder, config.batchOperationsMax(), limiter,
            config.crossTenantTransfers()).definition()))
        .addService(StrictRequests.of(cluster.bindService()))
        .addService(StrictRequests.of(health.getHealthService().bindService()))
        .addService(ProtoReflectionServiceV1.newInstance());
    Server server = Ports.bind("grpc-port", config.host(), config.grpcPort(), () -> configured.build().start());
    config.security().healthPort(health, server);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    health.setStatus(LedgerServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    health.setStatus(ClusterServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    log.info("shard proxy serving on port {} over {} ({})", server.getPort(), ring.current(), config);
    if (!config.security().tokens().enabled()) {
      log.warn("no token keys are configured (--auth-hs256-key-file or --auth-jwks-file): every caller may touch "
          + "every tenant's accounts");
    }
    new Audit(cluster, telemetry.meter()).start(executor, config.auditIntervalMs(), config.verifyIntervalMs());
    return new ProxyServer(config, server, health, nodes, executor, telemetry, redis);
  }

  /**
   * Who may call the proxy: ledger calls take a tenant's token and may name only that tenant;
   * VerifyJournal, which spans tenants, and ClusterService take the admin role.
   */
  private static Guard guard(ProxyConfig config) {
    return config.security().guard(Guard.Members.OFF)
        .allow(LedgerServiceGrpc.SERVICE_NAME, Guard.Rule.TENANT)
        .allow(LedgerServiceGrpc.getVerifyJournalMethod().getFullMethodName(), Guard.Rule.ADMIN)
        .allow(ClusterServiceGrpc.SERVICE_NAME, Guard.Rule.ADMIN)
        .build();
  }

  public int port() {
    return server.getPort();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info("shard proxy shutting down");
    health.enterTerminalState();
    Servers.drain(server, config.shutdownGraceMs());
    try {
      nodes.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
    if (redis != null) {
      redis.close();
    }
    telemetry.close();
    log.info("shard proxy stopped");
  }
}
