package fortress.local;

import fortress.cluster.v1.Ring;
import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.ledger.DevKeys;
import fortress.core.store.LocalPostgres;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import fortress.core.security.Caller;
import fortress.core.security.Guard;
import fortress.core.security.Security;
import fortress.core.security.Tls;
import fortress.core.security.Tokens;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole Fortress cluster on this machine: one embedded PostgreSQL (fsync, synchronous_commit
 * and full_page_writes on) with a database per service, the ledger nodes, the shard proxy, the
 * shadow server and the decoy server, each server in its own process so any one can be killed alone. Server output goes to
 * {@code dataDir/logs/<name>.log}.
 */
public final class LocalCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);
  public static final String PROXY = "proxy";
  public static final String SHADOW = "shadow";
  public static final String DECOY = "decoy";
  private static final long HEALTHY_WITHIN_MS = 90_000;

  /**
   * Where things are and how many; a port of 0 picks a free one. {@code ledgerOnly} starts the
   * nodes and the proxy without the shadow and decoy servers (benchmarks and the ledger's fault
   * harness need only those). {@code tls} runs every hop over mTLS with a throwaway CA.
   */
  public record Options(Path root, Path dataDir, int nodes, String host, int proxyPort, int shadowPort,
      int decoyPort, int decoyHttpPort, int nodePortBase, String javaHeap, boolean ledgerOnly, boolean tls) {}

  /** The certificate name of the launcher's own client (health checks, tests, tools). */
  public static final String CLIENT = "client";
  private static final Duration DEV_TOKEN_TTL = Duration.ofDays(30);
  /** Large enough for a whole decoy Generate batch. */
  private static final int MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
  private static final int METRICS_PORT_BASE = 9464;
  /** The tenant the printed development token is scoped to. */
  public static final String DEV_TENANT = "acme";

  private final Options options;
  private volatile LocalPostgres postgres;
  private final Path ringFile;
  private final Map<String, List<String>> commands = new LinkedHashMap<>();
  private final Map<String, Process> processes = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, String> addresses = new LinkedHashMap<>();
  private final Map<String, Integer> metricsPorts = new LinkedHashMap<>();
  private final byte[] authKey;
  private final String nodeToken;
  private final Tls clientTls;
  private final String devToken;
  private String httpAddress;

  private LocalCluster(Options options, LocalPostgres postgres, Path ringFile, byte[] authKey, String nodeToken,
      Tls clientTls) {
    this.options = options;
    this.postgres = postgres;
    this.ringFile = ringFile;
    this.authKey = authKey;
    this.nodeToken = nodeToken;
    this.clientTls = clientTls;
    this.devToken = token("dev", DEV_TENANT, List.of(Caller.ADMIN), DEV_TOKEN_TTL);
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
    Files.createDirectories(o.dataDir().resolve("logs"));
    LocalPostgres postgres = LocalPostgres.start(o.dataDir());
    Ring.Builder ring = Ring.newBuilder().setEpoch(1);
    List<Integer> ports = new ArrayList<>();
    for (int i = 1; i <= o.nodes(); i++) {
      int port = o.nodePortBase() == 0 ? freePort() : o.nodePortBase() + i - 1;
      ports.add(port);
      ring.addNodes(RingNode.newBuilder().setNodeId("ledger-" + i).setAddress(o.host() + ":" + port));
    }
    Path ringFile = o.dataDir().resolve("ring.txtpb");
    RingFile.write(ringFile, ring.build());
    // Development secrets, kept in the data folder like the nodes' keys: the token signing key
    // and the node token. With --tls, a fresh CA and a certificate per server.
    Path secrets = o.dataDir().resolve("cluster");
    byte[] authKey = DevKeys.loadOrCreate(secrets, "auth-hs256");
    Path authKeyFile = DevKeys.file(secrets, "auth-hs256");
    Path nodeTokenFile = DevKeys.file(secrets, "node-token");
    LocalCa ca = o.tls() ? LocalCa.create(o.dataDir().resolve("tls")) : null;
    if (ca != null) {
      ca.issue(CLIENT, o.host());
    }
    Tls clientTls = ca == null ? Tls.OFF : new Tls(ca.certFile(CLIENT), ca.keyFile(CLIENT), ca.caFile(), false);
    LocalCluster cluster = new LocalCluster(o, postgres, ringFile, authKey,
        Files.readString(nodeTokenFile, StandardCharsets.US_ASCII).trim(), clientTls);
    Files.writeString(o.dataDir().resolve("dev-token"), cluster.devToken + "\n", StandardCharsets.US_ASCII);
    try {
      for (int i = 1; i <= o.nodes(); i++) {
        String nodeId = "ledger-" + i;
        Path nodeDir = o.dataDir().resolve(nodeId);
        String jdbc = postgres.ensureDatabase("ledger_" + i);
        List<String> command = cluster.java(o.root().resolve("ledger-server/target/ledger-server.jar"));
        command.addAll(List.of("--node-id=" + nodeId, "--host=" + o.host(), "--grpc-port=" + ports.get(i - 1),
            "--jdbc-url=" + jdbc, "--ring-file=" + ringFile, "--data-dir=" + nodeDir,
            "--journal-key-file=" + DevKeys.file(nodeDir, "journal"), "--card-key-file=" + DevKeys.file(nodeDir, "card"),
            "--node-token-file=" + nodeTokenFile));
        command.addAll(tlsFlags(ca, nodeId, o.host()));
        cluster.commands.put(nodeId, command);
        cluster.addresses.put(nodeId, o.host() + ":" + ports.get(i - 1));
      }
      int proxyPort = o.proxyPort() == 0 ? freePort() : o.proxyPort();
      List<String> proxy = cluster.java(o.root().resolve("shard-proxy/target/shard-proxy.jar"));
      proxy.addAll(List.of("--host=" + o.host(), "--grpc-port=" + proxyPort, "--ring-file=" + ringFile,
          "--auth-hs256-key-file=" + authKeyFile, "--node-token-file=" + nodeTokenFile));
      proxy.addAll(tlsFlags(ca, Security.PROXY_NAME, o.host()));
      cluster.commands.put(PROXY, proxy);
      cluster.addresses.put(PROXY, o.host() + ":" + proxyPort);
      if (!o.ledgerOnly()) {
        int shadowPort = o.shadowPort() == 0 ? freePort() : o.shadowPort();
        List<String> shadow = cluster.java(o.root().resolve("shadow-server/target/shadow-server.jar"));
        shadow.addAll(List.of("--host=" + o.host(), "--grpc-port=" + shadowPort,
            "--jdbc-url=" + postgres.ensureDatabase("shadow"), "--data-dir=" + o.dataDir().resolve(SHADOW),
            "--auth-hs256-key-file=" + authKeyFile));
        shadow.addAll(tlsFlags(ca, SHADOW, o.host()));
        cluster.commands.put(SHADOW, shadow);
        cluster.addresses.put(SHADOW, o.host() + ":" + shadowPort);
        // The decoy faces attackers: its own database, no ring, no keys; it reaches only the shadow server.
        int decoyPort = o.decoyPort() == 0 ? freePort() : o.decoyPort();
        int decoyHttpPort = o.decoyHttpPort() == 0 ? freePort() : o.decoyHttpPort();
        List<String> decoy = cluster.java(o.root().resolve("decoy-server/target/decoy-server.jar"));
        decoy.addAll(List.of("--host=" + o.host(), "--grpc-port=" + decoyPort, "--http-host=" + o.host(),
            "--http-port=" + decoyHttpPort, "--jdbc-url=" + postgres.ensureDatabase("decoy"),
            "--data-dir=" + o.dataDir().resolve(DECOY), "--shadow-target=" + o.host() + ":" + shadowPort,
            "--auth-hs256-key-file=" + authKeyFile, "--shadow-token-file=" + cluster.writeServiceToken(DECOY)));
        decoy.addAll(tlsFlags(ca, DECOY, o.host()));
        cluster.commands.put(DECOY, decoy);
        cluster.addresses.put(DECOY, o.host() + ":" + decoyPort);
        cluster.httpAddress = o.host() + ":" + decoyHttpPort;
      }
      // Prometheus endpoints: with fixed gRPC ports (the launcher), fixed ones from 9464 (the proxy,
      // then each node, the shadow and the decoy server); otherwise free ones.
      int next = METRICS_PORT_BASE;
      cluster.metricsPorts.put(PROXY, o.nodePortBase() == 0 ? freePort() : next++);
      for (String name : cluster.commands.keySet()) {
        if (!name.equals(PROXY)) {
          cluster.metricsPorts.put(name, o.nodePortBase() == 0 ? freePort() : next++);
        }
      }
      for (String name : cluster.commands.keySet()) {
        int metricsPort = cluster.metricsPorts.get(name);
        cluster.commands.get(name).addAll(List.of("--metrics-host=" + o.host(), "--metrics-port=" + metricsPort));
      }
      extraFlags.forEach((name, flags) -> {
        if (!cluster.commands.containsKey(name)) {
          throw new IllegalArgumentException("extra flags for " + name + ", which this cluster does not run");
        }
        cluster.commands.get(name).addAll(flags);
      });
      for (String name : cluster.commands.keySet()) {
        cluster.launch(name, List.of());
      }
      for (String name : cluster.commands.keySet()) {
        cluster.awaitServing(name);
      }
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** The TLS flags of one server under the throwaway CA: its own certificate, and mTLS both ways. */
  private static List<String> tlsFlags(LocalCa ca, String name, String host) throws Exception {
    if (ca == null) {
      return List.of();
    }
    ca.issue(name, host);
    return List.of("--tls-cert-file=" + ca.certFile(name), "--tls-key-file=" + ca.keyFile(name),
        "--tls-ca-file=" + ca.caFile(), "--tls-client-auth=true");
  }

  /** A token for a service that calls another (the decoy exporting to the shadow server), in a file. */
  private Path writeServiceToken(String name) throws IOException {
    Path file = options.dataDir().resolve("cluster").resolve(name + ".jwt");
    Files.writeString(file, token(name, null, List.of(), Duration.ofDays(365)), StandardCharsets.US_ASCII);
    return file;
  }

  /** A token signed with the cluster's key: {@code tenant} may be null, roles may be empty. */
  public String token(String subject, String tenant, List<String> roles, Duration ttl) {
    return Tokens.hs256(authKey, subject, tenant, roles, ttl);
  }

  /** The development token: tenant {@value #DEV_TENANT}, admin role, 30 days; also in {@code dataDir/dev-token}. */
  public String devToken() {
    return devToken;
  }

  /**
   * A channel to a server as the launcher's own client: TLS with the client certificate under
   * {@code tls}, the development token to the proxy, shadow and decoy, the node token to nodes.
   */
  public ManagedChannel channel(String name) {
    return channel(name, devToken);
  }

  /** The same, with {@code token} instead of the development token (nodes still get the node token). */
  public ManagedChannel channel(String name, String token) {
    Metadata headers = new Metadata();
    if (name.startsWith("ledger-")) {
      headers.put(Guard.NODE_TOKEN, nodeToken);
    } else {
      headers.put(Guard.AUTHORIZATION, "Bearer " + token);
    }
    return clientTls.channel(addresses.get(name)).intercept(MetadataUtils.newAttachHeadersInterceptor(headers))
        .maxInboundMessageSize(MESSAGE_BYTES_MAX).build();
  }

  /** A channel to a server with no token: what an anonymous caller gets (TLS still applies). */
  public ManagedChannel anonymousChannel(String name) {
    return clientTls.channel(addresses.get(name)).build();
  }

  /** The launcher's client TLS settings (CA, client certificate and key); {@link Tls#OFF} without --tls. */
  public Tls clientTls() {
    return clientTls;
  }

  private List<String> java(Path jar) {
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: build it first (mvn -DskipTests package)");
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ArrayList<>(List.of(java, "-Xmx" + options.javaHeap(), "-jar", jar.toString()));
  }

  /** Starts a server's process (again), with extra flags; does not wait for it. */
  public synchronized void launch(String name, List<String> extraFlags) throws IOException {
    List<String> command = new ArrayList<>(commands.get(name));
    command.addAll(extraFlags);
    Path logFile = options.dataDir().resolve("logs").resolve(name + ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
    processes.put(name, p);
    log.info("started {} (pid {}), log in {}", name, p.pid(), logFile);
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
        Process p = processes.get(name);
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
    Process p = processes.get(name);
    p.destroyForcibly();
    p.waitFor();
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
    Process p = processes.get(name);
    if (p != null && p.isAlive()) {
      new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor();
    }
  }

  /** SIGTERM (after SIGCONT, in case it is paused), then waits for a clean exit (SIGKILL after 30 s). */
  public void stop(String name) throws InterruptedException {
    Process p = processes.get(name);
    if (p == null || !p.isAlive()) {
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
    Process p = processes.get(name);
    return p != null && p.isAlive();
  }

  /** Waits for a server to exit by itself (a failpoint, say); returns its exit status. */
  public int awaitExit(String name, long timeoutMs) throws InterruptedException {
    Process p = processes.get(name);
    if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " still running after " + timeoutMs + " ms");
    }
    return p.exitValue();
  }

  public String address(String name) {
    return addresses.get(name);
  }

  /** The server's Prometheus endpoint, {@code http://host:port/metrics}. */
  public String metricsUrl(String name) {
    return "http://" + options.host() + ":" + metricsPorts.get(name) + "/metrics";
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

  /** host:port of the decoy HTTP listener. */
  public String decoyHttpAddress() {
    return httpAddress;
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

  /** Stops the proxy, the decoy and the shadow server, then the nodes, then PostgreSQL. */
  @Override
  public void close() throws InterruptedException, IOException {
    stop(PROXY);
    stop(DECOY);
    stop(SHADOW);
    for (String nodeId : nodeIds()) {
      Process p = processes.get(nodeId);
      if (p != null && p.isAlive()) {
        p.destroy();
      }
    }
    for (String nodeId : nodeIds()) {
      stop(nodeId);
    }
    postgres.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
