package fortress.shadow;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.core.Ports;
import fortress.core.rpc.HealthPort;
import fortress.core.rpc.Rejection;
import fortress.core.rpc.Servers;
import fortress.core.rpc.StrictRequests;
import fortress.core.security.Guard;
import fortress.core.security.Security;
import fortress.core.store.Database;
import fortress.core.store.LocalPostgres;
import fortress.core.telemetry.Telemetry;
import fortress.shadow.api.Roles;
import fortress.shadow.api.ShadowService;
import fortress.shadow.eval.EvaluationJobs;
import fortress.shadow.rollout.Decider;
import fortress.shadow.rollout.DecisionCounts;
import fortress.shadow.rollout.DecisionIds;
import fortress.shadow.rollout.Disagreements;
import fortress.shadow.rollout.RolloutController;
import fortress.shadow.rule.RuleCompiler;
import fortress.shadow.store.ServerKeys;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running shadow server: its database (embedded or given), migrations, the evaluation jobs, the
 * rollout controller and the gRPC server with health and reflection. Health turns SERVING only
 * once all of that is ready; close() turns it NOT_SERVING, drains calls, stops the jobs and closes
 * the pool.
 */
public final class ShadowServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShadowServer.class);

  private final ShadowConfig config;
  private final LocalPostgres postgres;
  private final Database database;
  private final EvaluationJobs jobs;
  private final Disagreements disagreements;
  private final ScheduledExecutorService ticker;
  private final ExecutorService handlers;
  private final HealthStatusManager health;
  private final Server server;
  private final HealthPort healthPort;
  private boolean closed;

  private final Telemetry telemetry;

  private ShadowServer(ShadowConfig config, LocalPostgres postgres, Database database, EvaluationJobs jobs,
      Disagreements disagreements, ScheduledExecutorService ticker, ExecutorService handlers,
      HealthStatusManager health, Server server, HealthPort healthPort, Telemetry telemetry) {
    this.telemetry = telemetry;
    this.config = config;
    this.postgres = postgres;
    this.database = database;
    this.jobs = jobs;
    this.disagreements = disagreements;
    this.ticker = ticker;
    this.handlers = handlers;
    this.health = health;
    this.server = server;
    this.healthPort = healthPort;
  }

  /** Starts the server on Netty at the configured host and port. */
  public static ShadowServer start(ShadowConfig config) throws IOException {
    Telemetry telemetry = Telemetry.start(config.telemetry());
    try {
      return start(config, config.security().server(config.host(), config.grpcPort()), telemetry);
    } catch (IOException | RuntimeException e) {
      telemetry.close();
      throw e;
    }
  }

  /** Starts the server on the given transport; tests pass an in-process builder. */
  public static ShadowServer start(ShadowConfig config, ServerBuilder<?> builder) throws IOException {
    return start(config, builder, Telemetry.NOOP);
  }

  private static ShadowServer start(ShadowConfig config, ServerBuilder<?> builder, Telemetry telemetry)
      throws IOException {
    if (!config.embedded()) {
      return startOn(config, builder, null, telemetry);
    }
    // The embedded PostgreSQL is a process of its own: if anything after it fails, stop it.
    LocalPostgres postgres = LocalPostgres.start(config.dataDir(), "shadow");
    try {
      return startOn(config.withJdbc(postgres.jdbcUrl("shadow"), "postgres", ""), builder, postgres, telemetry);
    } catch (IOException | RuntimeException e) {
      postgres.stopLogged();
      throw e;
    }
  }

  private static ShadowServer startOn(ShadowConfig config, ServerBuilder<?> builder, LocalPostgres postgres,
      Telemetry telemetry) throws IOException {
    Database database = Database.open("shadow", config.jdbcUrl(), config.jdbcUser(), config.jdbcPassword(),
        config.poolSizeMax(), ErrorReason.STORAGE_UNAVAILABLE, ErrorReason.OUTCOME_UNKNOWN);
    RuleCompiler compiler = new RuleCompiler(config.ruleCostMax(), config.ruleCacheSizeMax(),
        config.ruleEvaluationTimeoutMs());
    EvaluationJobs jobs = new EvaluationJobs(database, compiler, Executors.newFixedThreadPool(
        config.evaluationThreads(), new ThreadFactoryBuilder().setNameFormat("shadow-eval-%d").setDaemon(true).build()));
    DecisionCounts counts = new DecisionCounts();
    RolloutController rollouts = new RolloutController(database, compiler, counts);
    rollouts.reload();
    DecisionIds ids = new DecisionIds(database.inTransaction(c -> ServerKeys.loadOrCreate(c, "decision-ids")));
    Disagreements disagreements = new Disagreements(database, config.disagreementQueueDepthMax());
    Decider decider = new Decider(rollouts::policy,
        database.inTransaction(c -> ServerKeys.loadOrCreate(c, "canary-split")), ids, counts, disagreements,
        telemetry.meter());
    ShadowService service = new ShadowService(database, compiler, jobs, rollouts, decider, ids,
        database.inTransaction(c -> ServerKeys.loadOrCreate(c, "page-tokens")),
        new ShadowService.Limits(config.samplesPerCallMax(), config.datasetSamplesMax(), config.evaluationSamplesMax(),
            config.pageSizeDefault(), config.pageSizeMax(), config.rolloutTenantShareMax()));
    ExecutorService handlers = Executors.newFixedThreadPool(config.serverThreads(),
        new ThreadFactoryBuilder().setNameFormat("shadow-rpc-%d").setDaemon(true).build());
    HealthStatusManager health = new HealthStatusManager();
    ServerBuilder<?> configured = builder
        .executor(handlers)
        .intercept(guard(config.security()))
        .intercept(telemetry.serverInterceptor())
        .addService(StrictRequests.of(service.bindService()))
        .addService(StrictRequests.of(health.getHealthService().bindService()))
        .addService(ProtoReflectionServiceV1.newInstance());
    Server server = Ports.bind("grpc-port", config.host(), config.grpcPort(), () -> configured.build().start());
    HealthPort healthPort = config.security().healthPort(health, server);
    jobs.resume();
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("shadow-rollout").setDaemon(true).build());
    ticker.scheduleWithFixedDelay(rollouts::tick, config.rolloutCheckIntervalMs(), config.rolloutCheckIntervalMs(),
        TimeUnit.MILLISECONDS);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    health.setStatus(ShadowServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    log.info("shadow server serving on port {} ({})", server.getPort(), config);
    return new ShadowServer(config, postgres, database, jobs, disagreements, ticker, handlers, health, server,
        healthPort, telemetry);
  }

  /**
   * Who may call: a role per kind of work (see {@link Roles}), the admin role for rule changes,
   * deployments and rollouts (and for any method not listed). RecordSamples lets any valid token
   * through: the service takes {@code shadow.record}, or {@code decoy} for attacker-supplied samples.
   */
  private static Guard guard(Security security) {
    return security.guard(Guard.Members.OFF)
        .allow(List.of(ShadowServiceGrpc.getCreateRuleMethod().getFullMethodName(),
            ShadowServiceGrpc.getDeployRuleMethod().getFullMethodName(),
            ShadowServiceGrpc.getStartRolloutMethod().getFullMethodName(),
            ShadowServiceGrpc.getResumeRolloutMethod().getFullMethodName(),
            ShadowServiceGrpc.getAbortRolloutMethod().getFullMethodName()), Guard.Rule.ADMIN)
        .allow(ShadowServiceGrpc.getRecordSamplesMethod().getFullMethodName(), Guard.Rule.CALLER)
        .allowRole(List.of(ShadowServiceGrpc.getGetRuleMethod().getFullMethodName(),
            ShadowServiceGrpc.getListRulesMethod().getFullMethodName(),
            ShadowServiceGrpc.getGetRolloutMethod().getFullMethodName(),
            ShadowServiceGrpc.getListDeploymentsMethod().getFullMethodName()), Roles.RULES_READ)
        .allowRole(List.of(ShadowServiceGrpc.getStartEvaluationMethod().getFullMethodName(),
            ShadowServiceGrpc.getGetEvaluationMethod().getFullMethodName(),
            ShadowServiceGrpc.getGetDatasetMethod().getFullMethodName()), Roles.EVALUATE)
        .allowRole(List.of(ShadowServiceGrpc.getDecideMethod().getFullMethodName(),
            ShadowServiceGrpc.getReportOutcomeMethod().getFullMethodName()), Roles.DECIDE)
        .build();
  }

  /** The bound port (useful when the configured port was 0). */
  public int port() {
    return server.getPort();
  }

  /** The health-only listener's port, or -1 without --health-port. */
  public int healthPort() {
    return healthPort.port();
  }

  public ShadowConfig config() {
    return config;
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
    log.info("shadow server shutting down");
    health.enterTerminalState();
    Servers.drain(server, config.shutdownGraceMs());
    ticker.shutdownNow();
    jobs.close();
    disagreements.close();
    handlers.shutdown();
    database.close();
    if (postgres != null) {
      postgres.stopLogged();
    }
    telemetry.close();
    log.info("shadow server stopped");
  }
}
