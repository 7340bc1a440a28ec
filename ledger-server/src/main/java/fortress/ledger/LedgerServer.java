package fortress.ledger;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.cluster.v1.RingNode;
import fortress.core.Ports;
import fortress.core.ring.RingFile;
import fortress.core.rpc.Servers;
import fortress.core.rpc.StrictRequests;
import fortress.core.security.Guard;
import fortress.core.security.Security;
import fortress.core.store.LocalPostgres;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.api.LedgerService;
import fortress.ledger.api.ShardService;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.card.CardVault;
import fortress.ledger.journal.JournalVerifier;
import fortress.ledger.store.Database;
import fortress.ledger.store.LedgerReader;
import fortress.ledger.store.Reads;
import fortress.ledger.store.TwoPhaseReader;
import fortress.ledger.twopc.Coordinator;
import fortress.ledger.twopc.Failpoints;
import fortress.ledger.twopc.GrpcPeers;
import fortress.ledger.twopc.Participant;
import fortress.ledger.twopc.Recovery;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.write.AccountView;
import fortress.ledger.write.PostgresStore;
import fortress.ledger.write.Writer;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running ledger node: its database (embedded or given), migrations, the writer, and the gRPC
 * server with health and reflection. Health turns SERVING only once all of that is ready; close()
 * turns it NOT_SERVING, drains in-flight calls, flushes the writer and closes the pools.
 */
public final class LedgerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);
  public static final String SERVICE_NAME = LedgerServiceGrpc.SERVICE_NAME;

  private final LedgerConfig config;
  private final LocalPostgres postgres;
  private final Database database;
  private final Writer writer;
  private final Coordinator coordinator;
  private final GrpcPeers peers;
  private final ScheduledExecutorService recovery;
  private final ExecutorService handlers;
  private final HealthStatusManager health;
  private final Server server;
  private final Telemetry telemetry;
  private boolean closed;

  private LedgerServer(LedgerConfig config, LocalPostgres postgres, Database database, Writer writer,
      Coordinator coordinator, GrpcPeers peers, ScheduledExecutorService recovery, ExecutorService handlers,
      HealthStatusManager health, Server server, Telemetry telemetry) {
    this.telemetry = telemetry;
    this.config = config;
    this.postgres = postgres;
    this.database = database;
    this.writer = writer;
    this.coordinator = coordinator;
    this.peers = peers;
    this.recovery = recovery;
    this.handlers = handlers;
    this.health = health;
    this.server = server;
  }

  /** Starts the node on Netty at the configured host and port. */
  public static LedgerServer start(LedgerConfig config) throws IOException {
    Telemetry telemetry = Telemetry.start(config.telemetry());
    try {
      return start(config, config.security().server(config.host(), config.grpcPort()),
          GrpcPeers.netty(config.security(), telemetry), telemetry);
    } catch (IOException | RuntimeException e) {
      telemetry.close();
      throw e;
    }
  }

  /** Starts the node on the given transport, reaching other nodes through {@code connect}. */
  public static LedgerServer start(LedgerConfig config, ServerBuilder<?> builder,
      Function<RingNode, ManagedChannel> connect) throws IOException {
    return start(config, builder, connect, Telemetry.NOOP);
  }

  private static LedgerServer start(LedgerConfig config, ServerBuilder<?> builder,
      Function<RingNode, ManagedChannel> connect, Telemetry telemetry) throws IOException {
    RingFile ring = config.ringFile() == null ? null : RingFile.open(config.ringFile());
    LocalPostgres postgres = null;
    if (config.embedded()) {
      postgres = LocalPostgres.start(config.dataDir(), "ledger");
      config = config.withJdbc(postgres.jdbcUrl("ledger"), "postgres", "");
      if (config.journalKey() == null || config.cardKey() == null) {
        config = config.withKeys(
            config.journalKey() != null ? config.journalKey() : DevKeys.loadOrCreate(config.dataDir(), "journal"),
            config.cardKey() != null ? config.cardKey() : DevKeys.loadOrCreate(config.dataDir(), "card"));
      }
    }
    Database database = Database.open(config.jdbcUrl(), config.jdbcUser(), config.jdbcPassword(),
        config.readPoolSizeMax());
    Clock clock = Clock.systemUTC();
    CardVault cards = new CardVault(config.nodeId(),
        new CardKeyring(config.cardKeyId(), config.cardKey(), config.cardPreviousKeys()));
    LedgerReader reader = new LedgerReader(database.reader());
    // Rebuilt before the writer runs, which alone changes it from then on.
    AccountView view = rebuild(reader, config.accountViewMax());
    Writer writer = new Writer(new PostgresStore(database.writer()), view, config.journalKey(),
        cards, clock, Ticker.systemTicker(), UUID::randomUUID, config.writerBatchSizeMax(),
        config.writerQueueDepthMax(), config.writerTailMs(), config.holdSweepIntervalMs(), config.holdSweepBatchMax(),
        telemetry.meter());
    writer.start();
    ExecutorService handlers = Executors.newFixedThreadPool(config.serverThreads(),
        new ThreadFactoryBuilder().setNameFormat("ledger-rpc-%d").setDaemon(true).build());
    Ownership ownership = new Ownership(config.nodeId(), ring);
    if (ring != null && ring.current().node(config.nodeId()).isEmpty()) {
      log.warn("node {} is not on the ring {}; it will refuse every account with WRONG_NODE", config.nodeId(),
          ring.current());
    }
    GrpcPeers peers = new GrpcPeers(ring, connect, config.peerAddresses(), config.security().memberCredentials());
    if (!config.security().identifiesMembers()) {
      log.warn("node {} checks no member identity (no --tls-client-auth, no --member-tokens-file): anyone who can "
          + "reach it may call its ShardService; run it so on one machine only", config.nodeId());
    }
    TwoPhaseReader transactions = new TwoPhaseReader(database.reader());
    // Reads run on the calling thread: a handler's, or recovery's.
    Reads reads = new Reads(transactions, Runnable::run);
    Failpoints failpoints = new Failpoints(config.failpoints());
    Coordinator coordinator = new Coordinator(config.nodeId(), writer, peers, reads, failpoints, UUID::randomUUID,
        clock, config.prepareTimeoutMs(), telemetry);
    Recovery recovery = new Recovery(coordinator, writer, peers, reads, clock, config.prepareTimeoutMs(),
        config.inDoubtTimeoutMs(), config.inFlightBoundMs(), config.recoveryBatchMax(), telemetry);
    LedgerService service = new LedgerService(new Mutations(writer, coordinator, ownership, reads), ownership, reader,
        view, new JournalVerifier(database.reader(), config.journalKey(), config.journalVerifyThreads()), handlers,
        config.holdTimeoutSecondsMax(), config.batchOperationsMax(), config.pageSizeDefault(), config.pageSizeMax());
    ShardService shard = new ShardService(new Participant(writer, failpoints), coordinator, transactions, ownership,
        config.holdTimeoutSecondsMax(), handlers, clock, config.inFlightBoundMs());
    // Start-up recovery finishes before the node serves: nothing of this process drives a
    // transaction yet, so every PREPARING one is a previous run's and is aborted now, never one
    // that live traffic just began.
    long roundBoundMs = 2 * config.prepareTimeoutMs() + 1_000;
    finish(recovery.startUp(), roundBoundMs, "start-up");
    HealthStatusManager health = new HealthStatusManager();
    ServerBuilder<?> configured = builder
        .executor(handlers)
        .intercept(guard(config.security(), ring))
        .intercept(telemetry.serverInterceptor())
        .addService(StrictRequests.of(service.bindService()))
        .addService(StrictRequests.of(shard.bindService()))
        .addService(StrictRequests.of(health.getHealthService().bindService()))
        .addService(ProtoReflectionServiceV1.newInstance());
    Server server = Ports.bind("grpc-port", config.host(), config.grpcPort(), () -> configured.build().start());
    config.security().healthPort(health, server);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
    health.setStatus(ShardServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    ScheduledExecutorService rounds = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("ledger-2pc-recovery").setDaemon(true).build());
    rounds.scheduleWithFixedDelay(() -> finish(recovery.round(), roundBoundMs, "periodic"),
        config.recoveryIntervalMs(), config.recoveryIntervalMs(), TimeUnit.MILLISECONDS);
    log.info("ledger node {} serving on port {} ({})", config.nodeId(), server.getPort(), config);
    return new LedgerServer(config, postgres, database, writer, coordinator, peers, rounds, handlers, health,
        server, telemetry);
  }

  private static AccountView rebuild(LedgerReader reader, int accountsMax) throws IOException {
    try {
      return AccountView.rebuild(reader, accountsMax);
    } catch (SQLException e) {
      throw new IOException("the account view could not be read from the database: " + e.getMessage(), e);
    }
  }

  /** Waits for a recovery round's calls, up to a bound (each call has its own deadline). */
  private static void finish(CompletableFuture<Void> round, long boundMs, String which) {
    try {
      round.get(boundMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("{} two-phase commit recovery round still running after {} ms", which, boundMs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      log.warn("{} two-phase commit recovery round failed: {}", which, e.getCause().toString());
    }
  }

  /**
   * Who may call a node: LedgerService and the read-only ShardService calls take cluster members
   * (the proxy and the other nodes); the two-phase commit calls take ledger nodes only.
   */
  private static Guard guard(Security security, RingFile ring) {
    String shard = ShardServiceGrpc.SERVICE_NAME + "/";
    return security.guard(security.members(() -> ring == null ? Set.of()
            : ring.current().nodes().stream().map(RingNode::getNodeId).collect(Collectors.toSet())))
        .allow(SERVICE_NAME, Guard.Rule.MEMBER)
        .allow(ShardServiceGrpc.SERVICE_NAME, Guard.Rule.NODE)
        .allow(List.of(shard + "ListInDoubt", shard + "GetTotals"), Guard.Rule.MEMBER)
        .build();
  }

  /** The bound port (useful when the configured port was 0). */
  public int port() {
    return server.getPort();
  }

  public LedgerConfig config() {
    return config;
  }

  /** The embedded PostgreSQL, if this node started one. */
  public LocalPostgres postgres() {
    return postgres;
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
    log.info("ledger node {} shutting down", config.nodeId());
    health.enterTerminalState();
    recovery.shutdownNow();
    Servers.drain(server, config.shutdownGraceMs());
    try {
      recovery.awaitTermination(config.shutdownGraceMs(), TimeUnit.MILLISECONDS);
      writer.close();
      coordinator.close();
      peers.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    handlers.shutdown();
    database.close();
    if (postgres != null) {
      postgres.stopLogged();
    }
    telemetry.close();
    log.info("ledger node {} stopped", config.nodeId());
  }
}
