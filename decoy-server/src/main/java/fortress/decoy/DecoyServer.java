package fortress.decoy;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.core.Ports;
import fortress.core.rpc.Rejection;
import fortress.core.rpc.Servers;
import fortress.core.rpc.StrictRequests;
import fortress.core.security.Guard;
import fortress.core.security.Security;
import fortress.core.store.Database;
import fortress.core.store.LocalPostgres;
import fortress.core.telemetry.Telemetry;
import fortress.decoy.api.DecoyService;
import fortress.decoy.api.Export;
import fortress.decoy.capture.Capture;
import fortress.decoy.http.DecoyHttpServer;
import fortress.decoy.template.Endpoints;
import fortress.decoy.v1.DecoyServiceGrpc;
import fortress.decoy.v1.ErrorReason;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.opentelemetry.api.metrics.Meter;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running decoy server: its database (embedded or given), the gRPC server with health and
 * reflection, the decoy HTTP listener and the interaction writer. It holds no credentials for and
 * makes no calls to any internal service; its one outbound call is ExportInteractions to the
 * shadow server, when one is configured.
 */
public final class DecoyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DecoyServer.class);

  private final DecoyConfig config;
  private final LocalPostgres postgres;
  private final Database database;
  private final Capture capture;
  private final DecoyHttpServer http;
  private final ManagedChannel shadowChannel;
  private final ExecutorService handlers;
  private final HealthStatusManager health;
  private final Server server;
  private boolean closed;

  private final Telemetry telemetry;

  private DecoyServer(DecoyConfig config, LocalPostgres postgres, Database database, Capture capture,
      DecoyHttpServer http, ManagedChannel shadowChannel, ExecutorService handlers, HealthStatusManager health,
      Server server, Telemetry telemetry) {
    this.telemetry = telemetry;
    this.config = config;
    this.postgres = postgres;
    this.database = database;
    this.capture = capture;
    this.http = http;
    this.shadowChannel = shadowChannel;
    this.handlers = handlers;
    this.health = health;
    this.server = server;
  }

  /** Starts the server on Netty at the configured host and port. */
  public static DecoyServer start(DecoyConfig config) throws IOException, InterruptedException {
    Telemetry telemetry = Telemetry.start(config.telemetry());
    try {
      return start(config, config.security().server(config.host(), config.grpcPort()), telemetry);
    } catch (IOException | InterruptedException | RuntimeException e) {
      telemetry.close();
      throw e;
    }
  }

  /** Starts the server with the given gRPC transport; tests pass an in-process builder. */
  public static DecoyServer start(DecoyConfig config, ServerBuilder<?> builder)
      throws IOException, InterruptedException {
    return start(config, builder, Telemetry.NOOP);
  }

  private static DecoyServer start(DecoyConfig config, ServerBuilder<?> builder, Telemetry telemetry)
      throws IOException, InterruptedException {
    if (!config.embedded()) {
      return startOn(config, builder, null, telemetry);
    }
    // The embedded PostgreSQL is a process of its own: if anything after it fails, stop it.
    LocalPostgres postgres = LocalPostgres.start(config.dataDir(), "decoy");
    try {
      return startOn(config.withJdbc(postgres.jdbcUrl("decoy"), "postgres", ""), builder, postgres, telemetry);
    } catch (IOException | InterruptedException | RuntimeException e) {
      postgres.stopLogged();
      throw e;
    }
  }

  private static DecoyServer startOn(DecoyConfig config, ServerBuilder<?> builder, LocalPostgres postgres,
      Telemetry telemetry) throws IOException, InterruptedException {
    Database database = Database.open("decoy", config.jdbcUrl(), config.jdbcUser(), config.jdbcPassword(),
        config.poolSizeMax(), ErrorReason.STORAGE_UNAVAILABLE, ErrorReason.OUTCOME_UNKNOWN);
    ManagedChannel shadowChannel = config.shadowTarget().isEmpty() ? null
        : shadowChannel(config, telemetry);
    ShadowServiceGrpc.ShadowServiceBlockingStub shadow = shadowChannel == null ? null
        : ShadowServiceGrpc.newBlockingStub(shadowChannel);
    Endpoints endpoints = new Endpoints();
    DecoyService service = new DecoyService(database, endpoints, new Export(database, () -> shadow),
        new DecoyService.Limits(config.generateCountMax(), config.pageSizeDefault(), config.pageSizeMax()));
    service.load();
    Capture capture = new Capture(database, config.interactionQueueDepthMax());
    Meter meter = telemetry.meter();
    meter.counterBuilder("fortress.decoy.interactions.captured").setUnit("{request}")
        .setDescription("decoy HTTP requests captured and written").buildWithCallback(m -> m.record(capture.written()));
    meter.counterBuilder("fortress.decoy.interactions.dropped").setUnit("{request}")
        .setDescription("decoy HTTP requests dropped because the capture queue was full")
        .buildWithCallback(m -> m.record(capture.dropped()));
    DecoyHttpServer http = DecoyHttpServer.start(config.httpHost(), config.httpPort(), endpoints, capture,
        new DecoyHttpServer.Limits(config.httpRequestBytesMax(), config.httpHeadersMax(),
            config.httpRatePerClientPerSecond(), config.httpBurstPerClient(), config.httpHeaderTimeoutMs(),
            config.httpBodyTimeoutMs(), config.httpKeepaliveTimeoutMs(), config.httpConnectionsMax(),
            config.httpConnectionsPerClientMax()), httpTls(config));
    ExecutorService handlers = Executors.newFixedThreadPool(config.serverThreads(),
        new ThreadFactoryBuilder().setNameFormat("decoy-rpc-%d").setDaemon(true).build());
    HealthStatusManager health = new HealthStatusManager();
    ServerBuilder<?> configured = builder
        .executor(handlers)
        .intercept(guard(config.security()))
        .intercept(telemetry.serverInterceptor())
        .addService(StrictRequests.of(service.bindService()))
        .addService(StrictRequests.of(health.getHealthService().bindService()))
        .addService(ProtoReflectionServiceV1.newInstance());
    Server server = Ports.bind("grpc-port", config.host(), config.grpcPort(), () -> configured.build().start());
    config.security().healthPort(health, server);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    health.setStatus(DecoyServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    log.info("decoy server serving gRPC on port {} and decoy HTTP on port {} ({})", server.getPort(), http.port(),
        config);
    return new DecoyServer(config, postgres, database, capture, http, shadowChannel, handlers, health, server,
        telemetry);
  }

  /** HTTPS for the decoy endpoints when a certificate is configured, else null (plain HTTP). */
  private static io.netty.handler.ssl.SslContext httpTls(DecoyConfig config) throws IOException {
    if (config.httpCertFile() == null) {
      return null;
    }
    return io.netty.handler.ssl.SslContextBuilder.forServer(config.httpCertFile().toFile(),
        config.httpKeyFile().toFile()).build();
  }

  /** The channel exports go through: TLS if a CA is configured, with the shadow token if one is. */
  private static ManagedChannel shadowChannel(DecoyConfig config, Telemetry telemetry) {
    NettyChannelBuilder channel = config.security().tls().channel(config.shadowTarget())
        .intercept(telemetry.clientInterceptor());
    if (config.shadowToken() != null) {
      channel.intercept(Security.bearer(config.shadowToken()));
    }
    return channel.build();
  }

  /**
   * Who may call: any caller with a valid token, except for template changes, corpus training and
   * exports, which take the admin role. The decoy HTTP listener is not gRPC and stays open.
   */
  private static Guard guard(Security security) {
    return security.guard(Guard.Members.OFF)
        .allow(DecoyServiceGrpc.SERVICE_NAME, Guard.Rule.CALLER)
        .allow(java.util.List.of(DecoyServiceGrpc.getCreateTemplateMethod().getFullMethodName(),
            DecoyServiceGrpc.getDeleteTemplateMethod().getFullMethodName(),
            DecoyServiceGrpc.getTrainTextMethod().getFullMethodName(),
            DecoyServiceGrpc.getExportInteractionsMethod().getFullMethodName()), Guard.Rule.ADMIN)
        .build();
  }

  /** The bound gRPC port (useful when the configured port was 0). */
  public int port() {
    return server.getPort();
  }

  /** The bound decoy HTTP port. */
  public int httpPort() {
    return http.port();
  }

  public DecoyConfig config() {
    return config;
  }

  /** Interactions written to the database so far, and dropped for a full queue. */
  public long interactionsWritten() {
    return capture.written();
  }

  public long interactionsDropped() {
    return capture.dropped();
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
    log.info("decoy server shutting down");
    health.enterTerminalState();
    http.close();
    Servers.drain(server, config.shutdownGraceMs());
    capture.close();
    if (shadowChannel != null) {
      shadowChannel.shutdownNow();
    }
    handlers.shutdown();
    database.close();
    if (postgres != null) {
      postgres.stopLogged();
    }
    telemetry.close();
    log.info("decoy server stopped");
  }
}
