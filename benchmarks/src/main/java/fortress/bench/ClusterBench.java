package fortress.bench;

import com.google.common.util.concurrent.ListenableFuture;
import fortress.bench.ClosedLoop.Result;
import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.core.Settings;
import fortress.core.ring.Ring;
import fortress.core.ring.RingFile;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.local.LocalCluster;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Load through the shard proxy of a real local cluster: one durable embedded PostgreSQL, three
 * ledger nodes and the proxy, each its own process, exactly as {@code deploy/local/run} starts
 * them. The baseline, measured in the same run, is a bare gRPC echo behind one proxy hop (two more
 * processes, see {@link EchoHop}). Scenarios: balance reads, transfers whose accounts share a node,
 * transfers across nodes (two-phase commit), and SubmitBatch of 100, each at every --in-flight
 * level, with p50, p99 and p99.9 latency. For every run it also reports the CPU time per call of the
 * shard proxy (against the echo's hop: what routing and checks cost on top of forwarding) and of the
 * ledger nodes, and with --jfr the most sampled frames of the proxy and of a node. After the load
 * it checks that the cluster conserves credits and that nothing is left in doubt.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar fortress.bench.ClusterBench [--seconds=10] ...</pre>
 * Run it from the repository root after {@code mvn -B -DskipTests install}.
 */
public final class ClusterBench {
  private static final String TENANT = "bench";
  private static final String ECHO = "bare gRPC echo";
  private static final String PROXIED_ECHO = "proxied echo";
  private static final String SAME_NODE = "Transfer, same node";
  private static final String CROSS_NODE = "Transfer, cross-node (2PC)";
  private static final String IN_FLIGHT_DEFAULT = "1,8,64,256";
  private static final int PREWARM_IN_FLIGHT = 64;
  private static final int IN_FLIGHT_MAX = 4096;
  private static final int BATCH_OPS = 100;
  private static final int BATCH_IN_FLIGHT = 8;
  private static final String HOP = "hop";
  private static final String ECHO_SERVER = "echo";
  private static final List<String> SCENARIOS = List.of("echo", "proxied-echo", "get-account", "transfer-same",
      "transfer-cross", "batch-same", "batch-cross");

  /**
   * One measured run: its latency and rate, what the servers spent in its window, the process in
   * front (the shard proxy, or the echo's hop; none for the bare echo) and the ones behind it.
   */
  private record Row(Result result, ServerCost cost, String front, List<String> back) {}

  /** Runs scenarios, each with the CPU time and time range of every server watched. */
  private record Runner(int seconds, int warmup, Map<String, Long> pids, List<Row> rows) {
    <T> void run(String name, int inFlight, int opsPerCall, String front, List<String> back,
        Supplier<ListenableFuture<T>> call) throws InterruptedException {
      ServerCost cost = new ServerCost(pids);
      rows.add(new Row(ClosedLoop.run(name, inFlight, opsPerCall, seconds, warmup, call, cost), cost, front, back));
    }
  }

  public static void main(String[] args) throws Exception {
    Settings s = new Settings(args, System.getenv());
    int seconds = s.integer("seconds", 10, 1, 3600, "measured seconds per scenario");
    int warmup = s.integer("warmup-seconds", 3, 0, 600, "unmeasured seconds before each scenario");
    int prewarm = s.integer("prewarm-seconds", 15, 0, 600, "unmeasured seconds of every scenario at "
        + PREWARM_IN_FLIGHT + " in flight before anything is measured, so that no level is measured while the "
        + "JIT compilers of seven processes are still at work; 0 skips it");
    int perNode = s.integer("accounts-per-node", 1000, 2, 100_000, "accounts on each node");
    String heap = s.string("java-heap", "256m", "-Xmx of every server process");
    Set<String> only = Set.of(s.string("scenarios", String.join(",", SCENARIOS),
        "comma-separated subset of " + String.join(",", SCENARIOS)).split(","));
    for (String name : only) {
      if (!SCENARIOS.contains(name)) {
        s.problem("--scenarios: unknown scenario " + name + "; known: " + String.join(",", SCENARIOS));
      }
    }
    int[] levels = inFlight(s, s.string("in-flight", IN_FLIGHT_DEFAULT, "comma-separated calls in flight each "
        + "single-call scenario runs at, in order, 1 to " + IN_FLIGHT_MAX + " (SubmitBatch always runs at "
        + BATCH_IN_FLIGHT + ")"));
    String jfr = s.string("jfr", null, "a folder: record every server process with JFR for the whole run "
        + "(<folder>/<server>.jfr) and print each scenario's most sampled frames; unset records nothing");
    int frames = s.integer("jfr-frames", 10, 1, 100, "frames printed per server and scenario with --jfr");
    Flags.finish(s, args);

    Path data = Files.createTempDirectory("fortress-cluster-bench");
    List<Process> baseline = new ArrayList<>();
    System.err.println("starting the cluster (PostgreSQL, 3 ledger nodes, proxy) in " + data);
    LocalCluster cluster = LocalCluster.start(new LocalCluster.Options(Path.of("."), data, 3, "127.0.0.1", 0, 0, 0, 0, 0,
        heap, true, false));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      baseline.forEach(Process::destroy);
      try {
        cluster.close();
      } catch (Exception e) {
        System.err.println("cluster did not stop cleanly: " + e);
      }
      ClosedLoop.deleteTree(data);
    }, "bench-shutdown"));

    String echoAddress = startHop(baseline, data.resolve("logs"), heap, null);
    String hopAddress = startHop(baseline, data.resolve("logs"), heap, echoAddress);
    ManagedChannel echo = ClosedLoop.channel(echoAddress);
    ManagedChannel hop = ClosedLoop.channel(hopAddress);
    // Tenant calls carry a token, as in production: its check is part of what is measured.
    ManagedChannel proxy = cluster.channel(LocalCluster.PROXY,
        cluster.token("bench", TENANT, List.of(fortress.core.security.Caller.ADMIN), java.time.Duration.ofDays(1)));
    var ledger = LedgerServiceGrpc.newFutureStub(proxy);
    Map<String, List<String>> byNode = setUp(ledger, RingFile.read(cluster.ringFile()), perNode);

    Map<String, Long> pids = new LinkedHashMap<>();
    pids.put(LocalCluster.PROXY, cluster.pid(LocalCluster.PROXY));
    cluster.nodeIds().forEach(n -> pids.put(n, cluster.pid(n)));
    pids.put(HOP, baseline.get(1).pid());
    pids.put(ECHO_SERVER, baseline.get(0).pid());
    Profiles profiles = jfr == null ? null : Profiles.start(Path.of(jfr), pids);
    if (prewarm > 0) {
      System.err.printf("pre-warming every scenario at %d in flight for %d s each (not measured)%n", PREWARM_IN_FLIGHT,
          prewarm);
      runAll(new Runner(prewarm, 0, pids, new ArrayList<>()), only, new int[] {PREWARM_IN_FLIGHT}, cluster, echo, hop,
          ledger, byNode, false);
    }
    Runner runner = new Runner(seconds, warmup, pids, new ArrayList<>());
    MetricsProbe probe = runAll(runner, only, levels, cluster, echo, hop, ledger, byNode, true);
    if (profiles != null) {
      profiles.stop();
    }

    List<Result> results = runner.rows().stream().map(Row::result).toList();
    ClosedLoop.print(results, PROXIED_ECHO);
    printCpu(runner.rows());
    if (probe != null) {
      probe.print();
    }
    if (only.contains("transfer-same") && only.contains("transfer-cross")) {
      printTwoPhaseOverhead(results, levels);
    }
    if (profiles != null) {
      printProfiles(profiles, runner.rows(), cluster.nodeIds().get(0), frames);
    }
    System.out.printf("%n(%d measured seconds per scenario; %d accounts per node; durable: PostgreSQL fsync=on,"
        + " synchronous_commit=on)%n", seconds, perNode);
    check(ClusterServiceGrpc.newBlockingStub(proxy));
    echo.shutdownNow();
    hop.shutdownNow();
    proxy.shutdownNow();
    System.exit(0);
  }

  /** The --in-flight levels, each from 1 to {@value #IN_FLIGHT_MAX}. */
  private static int[] inFlight(Settings s, String levels) {
    List<Integer> out = new ArrayList<>();
    for (String level : levels.split(",")) {
      try {
        int n = Integer.parseInt(level.trim());
        if (n < 1 || n > IN_FLIGHT_MAX) {
          s.problem("--in-flight: " + n + " is not from 1 to " + IN_FLIGHT_MAX);
        }
        out.add(n);
      } catch (NumberFormatException e) {
        s.problem("--in-flight: " + level + " is not a number");
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Every chosen scenario at every level, then the batches; the metrics probe if {@code probeMetrics}
   * and a cross-node run took it.
   */
  private static MetricsProbe runAll(Runner runner, Set<String> only, int[] levels, LocalCluster cluster,
      ManagedChannel echo, ManagedChannel hop, LedgerServiceGrpc.LedgerServiceFutureStub ledger,
      Map<String, List<String>> byNode, boolean probeMetrics) throws InterruptedException {
    List<String> nodes = new ArrayList<>(byNode.keySet());
    byte[] payload = TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT)
        .setFromAccountId("acct-1").setToAccountId("acct-2").setAmount(1).build().toByteArray();
    Supplier<String[]> samePair = () -> {
      List<String> ids = byNode.get(pick(nodes));
      String from = pick(ids);
      String to = pick(ids);
      while (to.equals(from)) {
        to = pick(ids);
      }
      return new String[] {from, to};
    };
    Supplier<String[]> crossPair = () -> {
      String a = pick(nodes);
      String b = pick(nodes);
      while (b.equals(a)) {
        b = pick(nodes);
      }
      return new String[] {pick(byNode.get(a)), pick(byNode.get(b))};
    };
    String proxy = LocalCluster.PROXY;
    List<String> ledgers = cluster.nodeIds();
    MetricsProbe probe = null;
    for (int inFlight : levels) {
      if (only.contains("echo")) {
        runner.run(ECHO, inFlight, 1, null, List.of(ECHO_SERVER), () -> ClientCalls.futureUnaryCall(
            echo.newCall(EchoServer.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), payload));
      }
      if (only.contains("proxied-echo")) {
        runner.run(PROXIED_ECHO, inFlight, 1, HOP, List.of(ECHO_SERVER), () -> ClientCalls.futureUnaryCall(
            hop.newCall(EchoServer.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), payload));
      }
      if (only.contains("get-account")) {
        runner.run("GetAccount", inFlight, 1, proxy, ledgers, () -> ledger.withDeadlineAfter(30, TimeUnit.SECONDS)
            .getAccount(GetAccountRequest.newBuilder().setTenantId(TENANT)
                .setAccountId(pick(byNode.get(pick(nodes)))).build()));
      }
      if (only.contains("transfer-same")) {
        runner.run(SAME_NODE, inFlight, 1, proxy, ledgers, () -> transfer(ledger, samePair.get()));
      }
      if (only.contains("transfer-cross")) {
        if (probeMetrics && probe == null && inFlight == levels[levels.length - 1]) {
          // Every server's metrics, scraped in the middle of the last level's cross-node run, under load.
          probe = MetricsProbe.after(cluster, (runner.warmup() + runner.seconds() / 2L) * 1000);
        }
        runner.run(CROSS_NODE, inFlight, 1, proxy, ledgers, () -> transfer(ledger, crossPair.get()));
      }
    }
    if (only.contains("batch-same")) {
      runner.run("SubmitBatch of " + BATCH_OPS + " same-node transfers", BATCH_IN_FLIGHT, BATCH_OPS, proxy, ledgers,
          () -> ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch(samePair)));
    }
    if (only.contains("batch-cross")) {
      runner.run("SubmitBatch of " + BATCH_OPS + " cross-node transfers", BATCH_IN_FLIGHT, BATCH_OPS, proxy, ledgers,
          () -> ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch(crossPair)));
    }
    return probe;
  }

  /**
   * CPU time per call of the process in front (the shard proxy, or the proxied echo's hop) and of
   * the processes behind it together (the three ledger nodes, or the echo server), each against
   * the proxied echo's hop at the same concurrency in the same run.
   */
  private static void printCpu(List<Row> rows) {
    System.out.println();
    System.out.println("| scenario | in flight | proxy CPU µs/call | vs hop (same in flight) | servers behind it, CPU "
        + "µs/call |");
    System.out.println("|---|---:|---:|---:|---:|");
    for (Row row : rows) {
      Result r = row.result();
      double front = row.front() == null ? Double.NaN : row.cost().microsPerCall(row.front());
      double hop = rows.stream().filter(e -> e.result().scenario().equals(PROXIED_ECHO)
          && e.result().inFlight() == r.inFlight()).mapToDouble(e -> e.cost().microsPerCall(HOP)).findFirst()
          .orElse(Double.NaN);
      double back = row.back().stream().mapToDouble(n -> row.cost().microsPerCall(n)).sum();
      String frontMark = row.front() != null && row.cost().coarse(row.front()) ? "*" : "";
      String backMark = row.back().stream().anyMatch(n -> row.cost().coarse(n)) ? "*" : "";
      System.out.printf("| %s | %d | %s | %s | %.0f%s |%n", r.scenario(), r.inFlight(),
          Double.isNaN(front) ? "—" : String.format("%.1f%s", front, frontMark),
          Double.isNaN(front) || Double.isNaN(hop) ? "—" : String.format("%.1f×", front / hop), back, backMark);
    }
    System.out.println();
    System.out.println("\\* under a second of CPU in the window: the kernel counts CPU in 10 ms ticks, so the figure is "
        + "coarse (0.1 s of CPU is off by up to 10%).");
  }

  /** For each run, the most sampled frames of the process in front and of the first ledger node (or the echo). */
  private static void printProfiles(Profiles profiles, List<Row> rows, String node, int n) throws IOException {
    List<ServerCost> windows = rows.stream().map(Row::cost).toList();
    Map<String, List<Profiles.Frames>> byServer = new LinkedHashMap<>();
    for (String server : List.of(LocalCluster.PROXY, node, HOP, ECHO_SERVER)) {
      byServer.put(server, profiles.frames(server, windows));
    }
    System.out.println();
    System.out.println("JFR execution samples in each run's measured window (recordings in "
        + profiles.file(LocalCluster.PROXY).getParent() + "):");
    for (int i = 0; i < rows.size(); i++) {
      Row row = rows.get(i);
      System.out.printf("%n### %s, %d in flight%n%n```%n", row.result().scenario(), row.result().inFlight());
      if (row.front() != null) {
        Profiles.print(row.front(), byServer.get(row.front()).get(i), n);
      }
      String behind = row.back().contains(node) ? node : row.back().get(0);
      Profiles.print(behind, byServer.get(behind).get(i), n);
      System.out.println("```");
    }
  }

  /** Starts an {@link EchoHop} process (the echo, or a hop to {@code target}) and returns its address. */
  private static String startHop(List<Process> started, Path logs, String heap, String target)
      throws IOException, InterruptedException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String jar;
    try {
      jar = Path.of(EchoHop.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException("cannot locate the benchmarks jar", e);
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>(List.of(java, "-Xmx" + heap, "-cp", jar, EchoHop.class.getName(),
        "--port=" + port));
    if (target != null) {
      command.add("--target=" + target);
    }
    Path log = logs.resolve((target == null ? "echo" : "hop") + ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).start();
    started.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.readString(log).contains("serving on port")) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("baseline process did not start; see " + log);
      }
      Thread.sleep(50);
    }
    return "127.0.0.1:" + port;
  }

  /** Opens and funds accounts until every node owns {@code perNode}, through the proxy. */
  private static Map<String, List<String>> setUp(LedgerServiceGrpc.LedgerServiceFutureStub ledger, Ring ring,
      int perNode) throws Exception {
    Map<String, List<String>> byNode = new LinkedHashMap<>();
    ring.nodes().forEach(n -> byNode.put(n.getNodeId(), new ArrayList<>()));
    SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
    for (int i = 0; byNode.values().stream().anyMatch(ids -> ids.size() < perNode); i++) {
      String id = "acct-" + i;
      List<String> ids = byNode.get(ring.owner(TENANT, id).getNodeId());
      if (ids.size() >= perNode) {
        continue;
      }
      ids.add(id);
      batch.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
          .setRequestId("create-" + i).setTenantId(TENANT).setAccountId(id)));
      batch.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
          .setRequestId("fund-" + i).setTenantId(TENANT).setAccountId(id).setAmount(1_000_000_000_000L)));
      if (batch.getOperationsCount() >= 1000) {
        ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch.build()).get();
        batch.clear();
      }
    }
    if (batch.getOperationsCount() > 0) {
      ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch.build()).get();
    }
    return byNode;
  }

  private static ListenableFuture<?> transfer(LedgerServiceGrpc.LedgerServiceFutureStub ledger, String[] pair) {
    return ledger.withDeadlineAfter(30, TimeUnit.SECONDS).transfer(request(pair));
  }

  private static TransferRequest request(String[] pair) {
    return TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT)
        .setFromAccountId(pair[0]).setToAccountId(pair[1]).setAmount(1).build();
  }

  private static SubmitBatchRequest batch(Supplier<String[]> pairs) {
    SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
    for (int i = 0; i < BATCH_OPS; i++) {
      batch.addOperations(BatchOperation.newBuilder().setTransfer(request(pairs.get())));
    }
    return batch.build();
  }

  private static <T> T pick(List<T> items) {
    return items.get(ThreadLocalRandom.current().nextInt(items.size()));
  }

  /** Cross-node transfers against same-node ones at each concurrency. */
  private static void printTwoPhaseOverhead(List<Result> results, int[] levels) {
    System.out.println();
    System.out.println("| in flight | same-node calls/s | cross-node calls/s | cross / same | p50 ms same → cross"
        + " | p99 ms same → cross | p99.9 ms same → cross |");
    System.out.println("|---:|---:|---:|---:|---:|---:|---:|");
    for (int inFlight : levels) {
      Result same = find(results, SAME_NODE, inFlight);
      Result cross = find(results, CROSS_NODE, inFlight);
      System.out.printf("| %d | %.0f | %.0f | %.0f%% | %s → %s | %s → %s | %s → %s |%n", inFlight,
          same.callsPerSecond(), cross.callsPerSecond(), 100 * cross.callsPerSecond() / same.callsPerSecond(),
          same.millis(50), cross.millis(50), same.millis(99), cross.millis(99), same.millis(99.9), cross.millis(99.9));
    }
  }

  private static Result find(List<Result> results, String scenario, int inFlight) {
    return results.stream().filter(r -> r.scenario().equals(scenario) && r.inFlight() == inFlight).findFirst()
        .orElseThrow();
  }

  /** After the load: every credit accounted for and no transfer left in doubt. */
  private static void check(ClusterServiceGrpc.ClusterServiceBlockingStub admin) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long inDoubt;
    do {
      inDoubt = admin.withDeadlineAfter(30, TimeUnit.SECONDS).listInDoubt(ListInDoubtRequest.getDefaultInstance())
          .getTotalCount();
      if (inDoubt > 0) {
        Thread.sleep(200);
      }
    } while (inDoubt > 0 && System.nanoTime() < deadline);
    GetClusterTotalsResponse totals = admin.withDeadlineAfter(30, TimeUnit.SECONDS)
        .getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
    System.out.printf("after the load: conserved %s (balance %d + in flight %d = deposited %d - consumed %d),"
        + " in doubt %d%n", totals.getConserved(), totals.getBalance(), totals.getInFlightCredit(),
        totals.getDeposited(), totals.getConsumed(), inDoubt);
  }
}
