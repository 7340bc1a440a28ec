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
 * transfers across nodes (two-phase commit), and SubmitBatch of 100. After the load it checks that
 * the cluster conserves credits and that nothing is left in doubt.
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
  private static final int[] IN_FLIGHT = {64, 256};
  private static final int BATCH_OPS = 100;
  private static final int BATCH_IN_FLIGHT = 8;
  private static final List<String> SCENARIOS = List.of("echo", "proxied-echo", "get-account", "transfer-same",
      "transfer-cross", "batch-same", "batch-cross");

  public static void main(String[] args) throws Exception {
    Settings s = new Settings(args, System.getenv());
    int seconds = s.integer("seconds", 10, 1, 3600, "measured seconds per scenario");
    int warmup = s.integer("warmup-seconds", 3, 0, 600, "unmeasured seconds before each scenario");
    int perNode = s.integer("accounts-per-node", 1000, 2, 100_000, "accounts on each node");
    String heap = s.string("java-heap", "256m", "-Xmx of every server process");
    Set<String> only = Set.of(s.string("scenarios", String.join(",", SCENARIOS),
        "comma-separated subset of " + String.join(",", SCENARIOS)).split(","));
    for (String name : only) {
      if (!SCENARIOS.contains(name)) {
        s.problem("--scenarios: unknown scenario " + name + "; known: " + String.join(",", SCENARIOS));
      }
    }
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

    List<Result> results = new ArrayList<>();
    MetricsProbe probe = null;
    for (int inFlight : IN_FLIGHT) {
      if (only.contains("echo")) {
        results.add(ClosedLoop.run(ECHO, inFlight, 1, seconds, warmup, () -> ClientCalls.futureUnaryCall(
            echo.newCall(EchoServer.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), payload)));
      }
      if (only.contains("proxied-echo")) {
        results.add(ClosedLoop.run(PROXIED_ECHO, inFlight, 1, seconds, warmup, () -> ClientCalls.futureUnaryCall(
            hop.newCall(EchoServer.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), payload)));
      }
      if (only.contains("get-account")) {
        results.add(ClosedLoop.run("GetAccount", inFlight, 1, seconds, warmup, () -> ledger
            .withDeadlineAfter(30, TimeUnit.SECONDS).getAccount(GetAccountRequest.newBuilder().setTenantId(TENANT)
                .setAccountId(pick(byNode.get(pick(nodes)))).build())));
      }
      if (only.contains("transfer-same")) {
        results.add(ClosedLoop.run(SAME_NODE, inFlight, 1, seconds, warmup, () -> transfer(ledger, samePair.get())));
      }
      if (only.contains("transfer-cross")) {
        if (probe == null) {
          // Every server's metrics, scraped in the middle of the first cross-node run, under load.
          probe = MetricsProbe.after(cluster, (warmup + seconds / 2L) * 1000);
        }
        results.add(ClosedLoop.run(CROSS_NODE, inFlight, 1, seconds, warmup,
            () -> transfer(ledger, crossPair.get())));
      }
    }
    if (only.contains("batch-same")) {
      results.add(ClosedLoop.run("SubmitBatch of " + BATCH_OPS + " same-node transfers", BATCH_IN_FLIGHT, BATCH_OPS,
          seconds, warmup, () -> ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch(samePair))));
    }
    if (only.contains("batch-cross")) {
      results.add(ClosedLoop.run("SubmitBatch of " + BATCH_OPS + " cross-node transfers", BATCH_IN_FLIGHT,
          BATCH_OPS, seconds, warmup,
          () -> ledger.withDeadlineAfter(60, TimeUnit.SECONDS).submitBatch(batch(crossPair))));
    }

    ClosedLoop.print(results, PROXIED_ECHO);
    if (probe != null) {
      probe.print();
    }
    if (only.contains("transfer-same") && only.contains("transfer-cross")) {
      printTwoPhaseOverhead(results);
    }
    System.out.printf("%n(%d measured seconds per scenario; %d accounts per node; durable: PostgreSQL fsync=on,"
        + " synchronous_commit=on)%n", seconds, perNode);
    check(ClusterServiceGrpc.newBlockingStub(proxy));
    echo.shutdownNow();
    hop.shutdownNow();
    proxy.shutdownNow();
    System.exit(0);
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
  private static void printTwoPhaseOverhead(List<Result> results) {
    System.out.println();
    System.out.println("| in flight | same-node calls/s | cross-node calls/s | cross / same | p50 ms same → cross"
        + " | p99 ms same → cross |");
    System.out.println("|---:|---:|---:|---:|---:|---:|");
    for (int inFlight : IN_FLIGHT) {
      Result same = find(results, SAME_NODE, inFlight);
      Result cross = find(results, CROSS_NODE, inFlight);
      System.out.printf("| %d | %.0f | %.0f | %.0f%% | %.2f → %.2f | %.2f → %.2f |%n", inFlight,
          same.callsPerSecond(), cross.callsPerSecond(), 100 * cross.callsPerSecond() / same.callsPerSecond(),
          same.p50(), cross.p50(), same.p99(), cross.p99());
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
