package fortress.local;

import com.nimbusds.jose.jwk.ECKey;
import static com.google.common.base.Preconditions.checkState;

import fortress.core.security.Caller;
import fortress.core.security.Guard;
import fortress.core.security.SecretFiles;
import fortress.core.security.Security;
import fortress.core.security.Tls;
import fortress.core.security.Tokens;
import fortress.core.store.LocalPostgres;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole Fortress cluster on this machine: one embedded PostgreSQL (fsync, synchronous_commit
 * and full_page_writes on) with a database per service, the ledger nodes, the shard proxy, the
 * shadow server and the decoy server, each server in its own process so any one can be killed
 * alone. Server output goes to {@code dataDir/logs/<name>.log}. The servers run from copies of
 * their jars in {@code dataDir/bin} (see {@link JarCopies}), so a build that rewrites
 * {@code target/} meanwhile does not touch them. One cluster at a time runs on a data folder
 * ({@link DataDirLock}); its fixed ports are checked before anything starts ({@link PortPlan}).
 *
 * <p>A server that dies is left dead unless a {@link Supervisor} watches the cluster: the tests
 * and benchmarks kill, pause and restart servers on purpose and watch none; {@code deploy/local/run}
 * supervises. {@link #kill}, {@link #stop} and {@link #close} mark the process they end as ended on
 * purpose, so a supervisor never restarts it.
 */
public final class LocalCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);
  public static final String PROXY = "proxy";
  public static final String SHADOW = "shadow";
  public static final String DECOY = "decoy";
  private static final long HEALTHY_WITHIN_MS = 90_000;

  /**
   * Where things are and how many; a port of 0 picks a free one, and each port is named like the
   * launcher flag that sets it ({@code proxyPort} is {@code --proxy-port}). {@code ledgerOnly}
   * starts the nodes and the proxy without the shadow and decoy servers (benchmarks and the
   * ledger's fault harness need only those). {@code tls} runs every hop over mTLS with a throwaway
   * CA. {@code metricsPortBase} is the proxy's metrics port; the other servers' follow.
   */
  public record Options(Path root, Path dataDir, int nodes, String host, int proxyPort, int shadowPort,
      int decoyPort, int decoyHttpPort, int nodePortBase, String javaHeap, boolean ledgerOnly, boolean tls,
      int metricsPortBase) {
    /** Metrics ports fixed from {@value #METRICS_PORT_BASE_DEFAULT} when the node ports are fixed, free otherwise. */
    public Options(Path root, Path dataDir, int nodes, String host, int proxyPort, int shadowPort, int decoyPort,
        int decoyHttpPort, int nodePortBase, String javaHeap, boolean ledgerOnly, boolean tls) {
      this(root, dataDir, nodes, host, proxyPort, shadowPort, decoyPort, decoyHttpPort, nodePortBase, javaHeap,
          ledgerOnly, tls, nodePortBase == 0 ? 0 : METRICS_PORT_BASE_DEFAULT);
    }
  }

  /** The proxy's metrics port when metrics ports are fixed; each other server's follows. */
  public static final int METRICS_PORT_BASE_DEFAULT = 9464;

  /**
   * A start refused before anything was started: the data folder is in use by another cluster,
   * or a fixed port is taken. The message is one line naming what to change.
   */
  public static final class StartRefused extends IllegalStateException {
    StartRefused(String message) {
      super(message);
    }
  }

  /** The JVM began to shut down (Ctrl-C, SIGTERM) while the cluster was starting; what had started is stopped. */
  public static final class Stopped extends IllegalStateException {
    Stopped() {
      super("the launcher was stopped while the cluster was starting");
    }
  }

  /** A server process that ended without {@link #kill}, {@link #stop} or {@link #close} ending it. */
  record Exit(String name, long pid, int status) {}

  /** One start of a server's process; {@code deliberate} once this class ends it on purpose. */
  private static final class Run {
    final Process process;
    volatile boolean deliberate;

    Run(Process process) {
      this.process = process;
    }
  }

  /** The certificate name of the launcher's own client (health checks, tests, tools). */
  public static final String CLIENT = "client";
  private static final Duration DEV_TOKEN_TTL = Duration.ofDays(30);
  /** Large enough for a whole decoy Generate batch. */
  private static final int MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
  /** The tenant the printed development token is scoped to. */
  public static final String DEV_TENANT = "acme";

  private final Options options;
  private final DataDirLock lock;
  private final PortPlan ports;
  private volatile LocalPostgres postgres;
  private final Path ringFile;
  private final Map<String, List<String>> commands;
  private final Map<String, Run> runs = new ConcurrentHashMap<>();
  private final ECKey signingKey;
  private final String memberToken;
  private final Tls memberTls;
  private final Tls clientTls;
  private final String devToken;
  private volatile Consumer<Exit> unexpectedExits;
  private volatile boolean closed;
  private final ShutdownHook hook;
  private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);

  /**
   * Writes the ring file, the development secrets and, with {@code tls}, a throwaway CA, and
   * builds every server's command; starts nothing.
   */
  private LocalCluster(Options options, DataDirLock lock, PortPlan ports, Map<String, List<String>> jars,
      LocalPostgres postgres, Map<String, List<String>> extraFlags, ShutdownHook hook) throws Exception {
    this.options = options;
    this.hook = hook;
    this.lock = lock;
    this.ports = ports;
    this.postgres = postgres;
    this.ringFile = ServerCommands.writeRing(options, ports);
    // Development secrets, kept in the data folder like the nodes' keys: the token signing key
    // (the launcher's alone; servers get only its public half) and the node token. With --tls, a
    // fresh CA and a certificate per server.
    Path secrets = options.dataDir().resolve("cluster");
    this.signingKey = Issuer.loadOrCreate(secrets);
    LocalCa ca = options.tls() ? LocalCa.create(options.dataDir().resolve("tls")) : null;
    if (ca != null) {
      ca.issue(CLIENT, options.host());
    }
    this.clientTls = ca == null ? Tls.OFF : new Tls(ca.certFile(CLIENT), ca.keyFile(CLIENT), ca.caFile(), false);
    // The launcher calls nodes as the proxy does (ListInDoubt, GetTotals): with the proxy's
    // certificate under TLS (issued with the servers' below), else with the proxy's node token.
    this.memberTls = ca == null ? Tls.OFF
        : new Tls(ca.certFile(Security.PROXY_NAME), ca.keyFile(Security.PROXY_NAME), ca.caFile(), false);
    this.memberToken = ca != null ? null : Files.readString(ServerCommands.memberTokenFile(secrets,
        Security.PROXY_NAME), StandardCharsets.US_ASCII).trim();
    this.devToken = token("dev", DEV_TENANT, List.of(Caller.ADMIN), DEV_TOKEN_TTL);
    SecretFiles.write(options.dataDir().resolve("dev-token"), devToken + "\n");
    this.commands = new ServerCommands(options, ports, jars, secrets, ca, signingKey).build(postgres, ringFile,
        extraFlags);
  }

  /** Starts PostgreSQL, every node and the proxy, and returns once all report SERVING. */
  public static LocalCluster start(Options o) throws Exception {
    return start(o, Map.of());
  }

  /**
   * The same, with extra flags for some servers, by name; they stay in the server's command, so
   * every restart has them too. (A failpoint for one start goes to {@link #launch} instead.)
   */
  public static LocalCluster start(Options o, Map<String, List<String>> extraFlags) throws Exception {
    DataDirLock lock = DataDirLock.tryAcquire(o.dataDir())
        .orElseThrow(() -> new StartRefused(DataDirLock.heldMessage(o.dataDir())));
    // Until close(), a JVM shutdown (Ctrl-C, SIGTERM) stops whatever has been started, even
    // halfway through this method, so no server or PostgreSQL outlives the launcher.
    ShutdownHook hook = new ShutdownHook(Thread.currentThread());
    Runtime.getRuntime().addShutdownHook(hook);
    LocalPostgres postgres = null;
    LocalCluster cluster;
    try {
      for (String stopped : ServerPids.stopLeftovers(o.dataDir())) {
        log.warn("stopped {}, which a launcher that was killed left running", stopped);
      }
      PortPlan ports = PortPlan.choose(o);
      Optional<String> problem = ports.problem(o.host());
      if (problem.isPresent()) {
        throw new StartRefused(problem.get());
      }
      Map<String, List<String>> jars = ServerCommands.copyJars(o);
      Files.createDirectories(o.dataDir().resolve("logs"));
      hook.checkNotStopping();
      postgres = LocalPostgres.start(o.dataDir());
      cluster = new LocalCluster(o, lock, ports, jars, postgres, extraFlags, hook);
      hook.cluster = cluster;
      hook.checkNotStopping();
    } catch (Exception | Error e) {
      if (postgres != null) {
        postgres.stopLogged();
      }
      try {
        lock.close();
      } catch (IOException unlocking) {
        e.addSuppressed(unlocking);
      }
      hook.remove();
      if (hook.stopping) {
        throw new Stopped();
      }
      throw e;
    }
    try {
      for (String name : cluster.commands.keySet()) {
        hook.checkNotStopping();
        cluster.launch(name, List.of());
      }
      for (String name : cluster.commands.keySet()) {
        hook.checkNotStopping();
        cluster.awaitServing(name);
      }
      hook.started();
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      if (hook.stopping) {
        throw new Stopped();
      }
      throw e;
    }
  }

  /**
   * Stops a cluster when the JVM shuts down: the one {@link #close} would have stopped, or, during
   * {@link #start}, whatever start has brought up (it waits for start to notice and undo it).
   */
  private static final class ShutdownHook extends Thread {
    private static final long START_UNDO_WAIT_MS = 60_000;
    private final Thread starter;
    volatile LocalCluster cluster;
    private volatile boolean stopping;
    private volatile boolean started;

    ShutdownHook(Thread starter) {
      super("local-cluster-shutdown");
      this.starter = starter;
    }

    @Override
    public void run() {
      stopping = true;
      try {
        LocalCluster c = cluster;
        if (c != null) {
          c.close();
        }
        if (!started) {
          starter.join(START_UNDO_WAIT_MS);
        }
        c = cluster;
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        log.error("stopping the local cluster at shutdown failed", e);
      }
    }

    /** Throws once the JVM is shutting down, so that start undoes what it did. */
    void checkNotStopping() {
      if (stopping) {
        throw new Stopped();
      }
    }

    /** Start is over: a shutdown from now on only has the cluster to close, not start to wait for. */
    void started() {
      started = true;
      checkNotStopping();
    }

    /** Unregisters the hook, unless the JVM is already running it. */
    void remove() {
      if (Thread.currentThread() == this) {
        return;
      }
      try {
        Runtime.getRuntime().removeShutdownHook(this);
      } catch (IllegalStateException shuttingDown) {
        // The hook runs now and finds nothing left to stop.
      }
    }
  }

  /**
   * A token signed with the cluster's key for every service (ledger, shadow, decoy): {@code tenant}
   * may be null, roles may be empty.
   */
  public String token(String subject, String tenant, List<String> roles, Duration ttl) {
    return token(subject, tenant, roles, Tokens.Policy.ALL, ttl);
  }

  /** A token signed with the cluster's key for these audiences only. */
  public String token(String subject, String tenant, List<String> roles, List<String> audiences, Duration ttl) {
    return Tokens.sign(signingKey, subject, tenant, roles, audiences, ttl);
  }

  /** The development token: tenant {@value #DEV_TENANT}, admin role, 30 days; also in {@code dataDir/dev-token}. */
  public String devToken() {
    return devToken;
  }

  /**
   * A channel to a server as the launcher's own client: TLS with the client certificate under
   * {@code tls}, the development token to the proxy, shadow and decoy; to nodes, the proxy's
   * member identity (its certificate under {@code tls}, else its node token).
   */
  public ManagedChannel channel(String name) {
    return channel(name, devToken);
  }

  /** The same, with {@code token} instead of the development token (nodes still get the member identity). */
  public ManagedChannel channel(String name, String token) {
    Metadata headers = new Metadata();
    boolean node = name.startsWith("ledger-");
    if (!node) {
      headers.put(Guard.AUTHORIZATION, "Bearer " + token);
    } else if (memberToken != null) {
      headers.put(Guard.NODE_TOKEN, memberToken);
    }
    return (node ? memberTls : clientTls).channel(address(name))
        .intercept(MetadataUtils.newAttachHeadersInterceptor(headers)).maxInboundMessageSize(MESSAGE_BYTES_MAX).build();
  }

  /** A channel to a server with no token: what an anonymous caller gets (TLS still applies). */
  public ManagedChannel anonymousChannel(String name) {
    return clientTls.channel(address(name)).build();
  }

  /** The launcher's client TLS settings (CA, client certificate and key); {@link Tls#OFF} without --tls. */
  public Tls clientTls() {
    return clientTls;
  }

  /** Starts a server's process (again), with extra flags; does not wait for it. */
  public synchronized void launch(String name, List<String> extraFlags) throws IOException {
    checkState(!closed, "the cluster is closed; %s is not started again", name);
    List<String> command = new ArrayList<>(commands.get(name));
    command.addAll(extraFlags);
    Path logFile = logFile(name);
    // Each start appends to the same log; a line marks where this one begins.
    Files.writeString(logFile, "----- " + name + " started by the launcher at " + Instant.now() + " -----\n",
        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
    Run run = new Run(p);
    runs.put(name, run);
    ServerPids.write(options.dataDir(), running());
    p.onExit().thenRun(() -> exited(name, run));
    log.info("started {} (pid {}), log in {}", name, p.pid(), logFile);
  }

  /** Tells the {@link #onUnexpectedExit} listener about a run that ended without being asked to. */
  private void exited(String name, Run run) {
    Consumer<Exit> listener = unexpectedExits;
    if (listener == null || run.deliberate || closed) {
      return;
    }
    try {
      listener.accept(new Exit(name, run.process.pid(), run.process.exitValue()));
    } catch (RuntimeException e) {
      log.error("handling the exit of {} (pid {}) failed", name, run.process.pid(), e);
    }
  }

  /**
   * Has {@code listener} called, on a JDK thread that reaps processes, for each server process that exits
   * without {@link #kill}, {@link #stop} or {@link #close} ending it. One listener per cluster.
   */
  void onUnexpectedExit(Consumer<Exit> listener) {
    checkState(unexpectedExits == null, "this cluster already has an exit listener");
    unexpectedExits = listener;
  }

  /**
   * Starts {@code name} again with its own command (no extra flags), unless meanwhile the cluster
   * was closed or the dead run, process {@code deadPid}, was stopped on purpose or replaced by a
   * newer one. Returns whether it started.
   */
  synchronized boolean relaunch(String name, long deadPid) throws IOException {
    Run run = runs.get(name);
    if (closed || run.deliberate || run.process.pid() != deadPid || run.process.isAlive()) {
      return false;
    }
    launch(name, List.of());
    return true;
  }

  /** Where the server's output goes: {@code dataDir/logs/<name>.log}, appended to by every start. */
  public Path logFile(String name) {
    return options.dataDir().resolve("logs").resolve(name + ".log");
  }

  /** The process id of the server's latest start. */
  public long pid(String name) {
    return runs.get(name).process.pid();
  }

  /** Restarts a stopped or killed server without extra flags and waits until it serves. */
  public void restart(String name) throws Exception {
    launch(name, List.of());
    awaitServing(name);
  }

  /** Waits until the server reports SERVING on the gRPC health service. */
  public void awaitServing(String name) throws Exception {
    long deadline = System.currentTimeMillis() + HEALTHY_WITHIN_MS;
    ManagedChannel channel = anonymousChannel(name);
    try {
      while (true) {
        Process p = runs.get(name).process;
        if (!p.isAlive()) {
          throw new IllegalStateException(name + " exited with status " + p.exitValue() + "; see "
              + options.dataDir().resolve("logs").resolve(name + ".log"));
        }
        try {
          if (HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance()).getStatus() == ServingStatus.SERVING) {
            return;
          }
        } catch (io.grpc.StatusRuntimeException notYet) {
          channel.resetConnectBackoff();
        }
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException(name + " did not report SERVING within " + HEALTHY_WITHIN_MS + " ms");
        }
        Thread.sleep(100);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** SIGKILL: the server gets no chance to flush or say goodbye. */
  public void kill(String name) throws InterruptedException {
    Run run = runs.get(name);
    run.deliberate = true;
    run.process.destroyForcibly();
    run.process.waitFor();
  }

  /** SIGSTOP: the process freezes with its connections open, as under a long GC pause or a hung disk. */
  public void pause(String name) throws IOException, InterruptedException {
    signal(name, "STOP");
  }

  /** SIGCONT: a paused server carries on. */
  public void resume(String name) throws IOException, InterruptedException {
    signal(name, "CONT");
  }

  private void signal(String name, String signal) throws IOException, InterruptedException {
    Run run = runs.get(name);
    if (run == null || !run.process.isAlive()) {
      return;
    }
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(run.process.pid()))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    // kill fails when the process exits meanwhile, which is no failure here.
    if (kill.waitFor() != 0 && run.process.isAlive()) {
      throw new IOException("kill -" + signal + " " + run.process.pid() + " (" + name + ") failed");
    }
  }

  /** SIGTERM (after SIGCONT, in case it is paused), then waits for a clean exit (SIGKILL after 30 s). */
  public void stop(String name) throws InterruptedException {
    Run run = runs.get(name);
    if (run == null) {
      return;
    }
    run.deliberate = true;
    Process p = run.process;
    if (!p.isAlive()) {
      return;
    }
    try {
      resume(name);
    } catch (IOException e) {
      log.warn("could not resume {} before stopping it: {}", name, e.getMessage());
    }
    p.destroy();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      log.warn("{} did not stop within 30 s; killing it", name);
      p.destroyForcibly().waitFor();
    }
  }

  /** Whether the server's process is alive (started and not exited). */
  public boolean isRunning(String name) {
    Run run = runs.get(name);
    return run != null && run.process.isAlive();
  }

  /** Waits for a server to exit by itself (a failpoint, say); returns its exit status. */
  public int awaitExit(String name, long timeoutMs) throws InterruptedException {
    Process p = runs.get(name).process;
    if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " still running after " + timeoutMs + " ms");
    }
    return p.exitValue();
  }

  /** host:port of the server's gRPC listener. */
  public String address(String name) {
    return options.host() + ":" + ports.grpc(name);
  }

  /** The server's Prometheus endpoint, {@code http://host:port/metrics}. */
  public String metricsUrl(String name) {
    return "http://" + options.host() + ":" + ports.metrics(name) + "/metrics";
  }

  /** Every server's name, in start order. */
  public List<String> names() {
    return List.copyOf(commands.keySet());
  }

  public List<String> nodeIds() {
    return commands.keySet().stream().filter(n -> n.startsWith("ledger-")).toList();
  }

  public Path ringFile() {
    return ringFile;
  }

  /** host:port of the decoy HTTP listener; null when the cluster runs no decoy server. */
  public String decoyHttpAddress() {
    return options.ledgerOnly() ? null : options.host() + ":" + ports.decoyHttp();
  }

  public LocalPostgres postgres() {
    return postgres;
  }

  /**
   * Stops PostgreSQL under the running servers, cleanly (a fast shutdown, which ends every
   * connection) or as a crash ({@link LocalPostgres#crash()}). The servers see their database
   * vanish; {@link #startPostgres()} brings it back.
   */
  public synchronized void stopPostgres(boolean crash) throws IOException {
    if (crash) {
      postgres.crash();
    } else {
      postgres.close();
    }
  }

  /** Starts PostgreSQL again after {@link #stopPostgres}, on the same port, so every JDBC URL still holds. */
  public synchronized void startPostgres() throws IOException {
    postgres = LocalPostgres.start(options.dataDir(), postgres.port());
  }

  /** Stops PostgreSQL, keeps it down for {@code downMs} and starts it again. */
  public void restartPostgres(boolean crash, long downMs) throws IOException, InterruptedException {
    stopPostgres(crash);
    Thread.sleep(downMs);
    startPostgres();
  }

  /**
   * Stops the proxy, the decoy and the shadow server, then the nodes, then PostgreSQL, and frees
   * the data folder. Nothing is started again afterwards, by a supervisor or anyone. Idempotent.
   */
  @Override
  public void close() throws InterruptedException, IOException {
    boolean first;
    synchronized (this) {
      first = !closed;
      closed = true;
    }
    if (!first) {
      stopped.await(); // another thread is stopping it: return once that is done
      return;
    }
    try {
      stop(PROXY);
      stop(DECOY);
      stop(SHADOW);
      for (String nodeId : nodeIds()) {
        Run run = runs.get(nodeId);
        if (run != null && run.process.isAlive()) {
          run.deliberate = true;
          run.process.destroy();
        }
      }
      for (String nodeId : nodeIds()) {
        stop(nodeId);
      }
      postgres.close();
      Files.deleteIfExists(options.dataDir().resolve(ServerPids.FILE));
    } finally {
      lock.close();
      hook.remove();
      stopped.countDown();
    }
  }

  /** The server processes alive now, by name. */
  private Map<String, Process> running() {
    Map<String, Process> alive = new java.util.TreeMap<>();
    runs.forEach((name, run) -> {
      if (run.process.isAlive()) {
        alive.put(name, run.process);
      }
    });
    return alive;
  }
}
