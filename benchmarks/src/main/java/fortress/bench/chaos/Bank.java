package fortress.bench.chaos;

import fortress.client.FortressClient;
import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.core.Settings;
import fortress.core.ring.Ring;
import fortress.core.ring.RingFile;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.LedgerConfig;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.TransferRequest;
import fortress.local.LocalCluster;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import fortress.core.security.Caller;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A Jepsen-style bank test of the ledger cluster. Starts the local cluster (durable PostgreSQL,
 * the ledger nodes and the proxy, each its own process), opens and funds accounts spread over
 * the nodes, and runs concurrent clients doing deposits, consumes and transfers (most of them
 * cross-node) while a seeded nemesis kills and pauses servers. Every call and every fault goes to
 * a history file. Afterwards the checker resolves every uncertain call through GetOperation and
 * checks every invariant; the run prints a summary and exits 1 on any anomaly.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar fortress.bench.chaos.Bank [--seconds=60] [--seed=1]</pre>
 */
public final class Bank {
  static final String TENANT = "bank";
  private static final long ROLLING_PREPARE_TIMEOUT_MS = 30_000;
  static final long INITIAL_BALANCE = 1_000_000;

  private Bank() {}

  /** How the run goes; see {@link #read} for each setting's meaning and default. */
  public record Options(Path root, int seconds, int faultsMin, int clients, int accounts, long seed,
      double crossNodeShare, double hotShare, int amountMax, long nemesisIntervalMs, boolean rolling, boolean sdk, Path history,
      String javaHeap, boolean selfCheck) {}

  /** What the run did and found. */
  public record Summary(long operations, long ok, long failed, long failedBySystem, long uncertain,
      long uncertainApplied, Map<String, Long> faults, Map<String, Long> messages, Map<String, Long> anomalies,
      Map<String, List<String>> examples, Map<String, Long> selfCheck, long millis) {
    public long faultCount() {
      return faults.values().stream().mapToLong(Long::longValue).sum();
    }

    public String report() {
      StringBuilder b = new StringBuilder();
      b.append(String.format("operations %d: ok %d, failed %d (%d for anything but the account's own state), "
          + "uncertain %d (took effect %d, absent %d)%n", operations, ok, failed, failedBySystem, uncertain,
          uncertainApplied, uncertain - uncertainApplied));
      b.append(String.format("faults %d: %s%n", faultCount(), faults));
      b.append(String.format("messages between nodes: %s%n", messages));
      b.append(String.format("anomalies %d: %s%n", anomalies.values().stream().mapToLong(Long::longValue).sum(),
          anomalies.isEmpty() ? "none" : anomalies));
      examples.forEach((type, list) -> list.forEach(e -> b.append("  ").append(type).append(": ").append(e)
          .append('\n')));
      if (!selfCheck.isEmpty()) {
        b.append(String.format("self-check: the checker found %s in a history doctored with three known anomalies "
            + "and a planted credit that never lands%n", selfCheck));
      }
      b.append(String.format("in %.1f s%n", millis / 1000.0));
      return b.toString();
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = Settings.forMain(args, () -> Settings.usage("Fortress bank test.", Bank::read),
        (flags, env) -> Settings.parse(flags, env, Bank::read));
    if (o == null) {
      return;
    }
    Summary summary = run(o);
    System.out.print(summary.report());
    System.out.println("history: " + o.history().toAbsolutePath());
    System.exit(summary.anomalies().isEmpty() ? 0 : 1);
  }

  static Options read(Settings s) {
    return new Options(
        Path.of(s.string("root", ".", "the Fortress checkout holding the built server jars")),
        s.integer("seconds", 60, 5, 86_400, "how long the clients run (at least; see --faults-min)"),
        s.integer("faults-min", 0, 0, 100_000, "keep running past --seconds until this many faults have ended "
            + "(at most three times --seconds)"),
        s.integer("clients", 8, 1, 256, "concurrent clients"),
        s.integer("accounts", 30, 4, 100_000, "accounts, spread over the nodes by the ring"),
        s.number("seed", 1, 0, Long.MAX_VALUE, "seeds the clients and the nemesis"),
        s.integer("cross-node-percent", 80, 0, 100, "share of transfers between accounts of different nodes") / 100.0,
        s.integer("hot-percent", 20, 0, 100, "share of picks that go to the two hot accounts") / 100.0,
        s.integer("amount-max", 100, 1, 1_000_000, "largest amount of a deposit, consume, transfer or hold "
            + "(amounts are uniform from 1)"),
        s.number("nemesis-interval-ms", 3_000, 100, 3_600_000, "mean pause between faults"),
        s.bool("rolling", false, "instead of random faults, restart every server in turn, gracefully"),
        s.bool("sdk", false, "clients let FortressClient retry uncertain calls with the same request_id, instead "
            + "of one attempt per call"),
        Path.of(s.string("history", "target/bank-history.jsonl", "where the history is written")),
        s.string("java-heap", "192m", "-Xmx of every server process"),
        s.bool("self-check", false, "also check a copy of the history doctored with three known anomalies, "
            + "and with a real credit that never lands, to show the checker finds them"));
  }

  /** Runs the whole test and returns what it found. */
  public static Summary run(Options o) throws Exception {
    long started = System.currentTimeMillis();
    Path data = Files.createTempDirectory("fortress-bank");
    // A rolling restart takes each node away for as long as a restart takes (seconds, more on a
    // loaded machine); as in a production deployment, the two-phase commit prepare timeout must
    // outlast that, or a transfer to the restarting node aborts.
    long prepareTimeoutMs = o.rolling() ? ROLLING_PREPARE_TIMEOUT_MS : LedgerConfig.PREPARE_TIMEOUT_MS_DEFAULT;
    // The nodes reach one another through a fault-injecting hop each (the proxy reaches them directly).
    Path ringFile = data.resolve("ring.txtpb");
    Map<String, LinkHop> hops = new LinkedHashMap<>();
    for (int i = 1; i <= NODES; i++) {
      String node = "ledger-" + i;
      hops.put(node, new LinkHop("127.0.0.1", 0, () -> address(ringFile, node), o.seed() * 31 + i));
    }
    StringBuilder peers = new StringBuilder("--peer-addresses=");
    hops.forEach((node, hop) -> peers.append(peers.length() > 17 ? "," : "").append(node).append("=127.0.0.1:")
        .append(hop.port()));
    Map<String, List<String>> flags = new java.util.HashMap<>();
    for (String node : hops.keySet()) {
      flags.put(node, List.of("--prepare-timeout-ms=" + prepareTimeoutMs, peers.toString()));
    }
    LocalCluster cluster;
    try {
      cluster = LocalCluster.start(new LocalCluster.Options(o.root(), data, NODES, "127.0.0.1", 0, 0, 0, 0, 0,
          o.javaHeap(), true, false), flags);
    } catch (Exception | Error e) {
      closeAll(hops);
      throw e;
    }
    ManagedChannel channel = cluster.channel(LocalCluster.PROXY,
        cluster.token("bank", TENANT, List.of(Caller.ADMIN), Duration.ofDays(7)));
    try (History history = new History(o.history())) {
      var ledger = LedgerServiceGrpc.newBlockingStub(channel);
      Accounts accounts = Accounts.open(ledger, RingFile.read(cluster.ringFile()), o.accounts());
      Client.Anomalies anomalies = new Client.Anomalies();
      Nemesis nemesis = new Nemesis(cluster, hops, prepareTimeoutMs, history, o.seed(), o.nemesisIntervalMs(),
          o.rolling());
      List<FortressClient> sdks = new ArrayList<>();
      nemesis.start();
      long end = System.currentTimeMillis() + o.seconds() * 1000L;
      long latest = System.currentTimeMillis() + 3L * o.seconds() * 1000L;
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < o.clients(); i++) {
        // One attempt per call, or, with --sdk, enough attempts to outlast a server's restart
        // (about five seconds on a loaded machine).
        FortressClient.Builder builder = FortressClient.forChannel(channel).tenant(TENANT);
        if (o.sdk()) {
          builder.maxAttempts(200).backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
              .retryTimeout(Duration.ofSeconds(120));
        } else {
          builder.maxAttempts(1).callTimeout(Duration.ofMillis(Client.CALL_DEADLINE_MS));
        }
        FortressClient sdk = builder.build();
        sdks.add(sdk);
        Client.Ledger calls = Client.over(sdk);
        Client c = new Client(i, accounts, calls, channel::resetConnectBackoff, history, anomalies,
            o.seed() * 1_000 + i, o.crossNodeShare(), o.hotShare(), o.amountMax());
        Thread t = new Thread(() -> runUntil(c, end, latest, history, o.faultsMin()), "bank-client-" + i);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
      nemesis.stop();
      sdks.forEach(FortressClient::close);
      Checker.Counts counts = new Checker(ledger, ClusterServiceGrpc.newBlockingStub(channel), history, anomalies,
          Checker.RECOVERY_TIMEOUT_MS)
          .check(accounts.initialBalances());
      Map<String, Long> faults = new TreeMap<>();
      history.faults().forEach(f -> faults.merge(f.kind(), 1L, Long::sum));
      Map<String, Long> selfCheck = o.selfCheck()
          ? selfCheck(history, ledger, ClusterServiceGrpc.newBlockingStub(channel), accounts, hops, o.history())
          : Map.of();
      Map<String, Long> messages = new TreeMap<>();
      hops.forEach((node, hop) -> {
        messages.put("lost-to-" + node, hop.lost());
        messages.put("delayed-to-" + node, hop.delayed());
      });
      long failedBySystem = history.ops().stream().filter(op -> op.outcome() == History.Outcome.FAIL
          && !op.status().startsWith("FAILED_PRECONDITION")).count();
      return new Summary(history.ops().size(), counts.ok(), counts.failed(), failedBySystem, counts.uncertain(),
          counts.uncertainApplied(), faults, messages, anomalies.counts(), anomalies.examples(), selfCheck,
          System.currentTimeMillis() - started);
    } finally {
      channel.shutdownNow();
      cluster.close();
      closeAll(hops);
      deleteTree(data);
    }
  }

  private static final int NODES = 3;
  /** How long the self-check waits for the planted credit to land (it never does). */
  private static final long PLANTED_RECOVERY_WAIT_MS = 15_000;

  /** A node's address in the ring file. */
  private static String address(Path ringFile, String node) {
    try {
      return RingFile.read(ringFile).node(node).orElseThrow().getAddress();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void closeAll(Map<String, LinkHop> hops) throws InterruptedException {
    for (LinkHop hop : hops.values()) {
      hop.close();
    }
  }

  /**
   * Checks a copy of the history with three lies in it, each of a kind the checker must catch: an
   * acknowledged deposit that was never sent (acknowledged-missing), an acknowledged operation
   * recorded as definitely failed (failed-present), and an acknowledged transfer with another
   * transfer_id (acknowledged-differs); and with a real credit that never lands: a cross-node
   * transfer made while the hop to its receiver's node drops every Commit, so it commits and its
   * credit stays in flight (credit-never-landed). Returns what the checker found.
   */
  private static Map<String, Long> selfCheck(History history, LedgerServiceGrpc.LedgerServiceBlockingStub ledger,
      ClusterServiceGrpc.ClusterServiceBlockingStub cluster, Accounts accounts, Map<String, LinkHop> hops, Path file)
      throws Exception {
    List<History.Op> ops = new ArrayList<>(history.ops());
    String[] pair = accounts.pair(new Random(1), true, 0);
    String receiverNode = accounts.owner(pair[1]);
    hops.get(receiverNode).drop("Commit");
    hops.get(receiverNode).drop("CommitLegs"); // Commits queued behind others go batched
    TransferRequest planted = TransferRequest.newBuilder().setRequestId("planted-credit").setTenantId(TENANT)
        .setFromAccountId(pair[0]).setToAccountId(pair[1]).setAmount(1).build();
    long start = history.now();
    com.google.protobuf.Message response = retryCall(() -> ledger.transfer(planted));
    ops.add(new History.Op(-1, History.Kind.TRANSFER, planted.getRequestId(), pair[0], pair[1], 1, "",
        History.Outcome.OK, "OK", Client.summary(response), start, history.now(), pair[0]));
    int failed = indexOf(ops, History.Kind.DEPOSIT);
    int differs = indexOf(ops, History.Kind.TRANSFER);
    if (failed < 0 || differs < 0) {
      throw new IllegalStateException("the run acknowledged too few operations to doctor its history");
    }
    History.Op f = ops.get(failed);
    ops.set(failed, f.with(History.Outcome.FAIL, "FAILED_PRECONDITION (doctored)", ""));
    History.Op d = ops.get(differs);
    ops.set(differs, d.with(d.outcome(), d.status(), "transfer tx-doctored"));
    ops.add(new History.Op(-1, History.Kind.DEPOSIT, "never-sent", "", "acct-0", 7, "", History.Outcome.OK, "OK",
        "entry 1", 0, 0, "acct-0"));
    try (History doctored = history.sameClock(file.resolveSibling(file.getFileName() + ".self-check"))) {
      doctored.addAll(ops);
      Client.Anomalies found = new Client.Anomalies();
      new Checker(ledger, cluster, doctored, found, PLANTED_RECOVERY_WAIT_MS).check(accounts.initialBalances());
      return found.counts();
    } finally {
      hops.get(receiverNode).heal();
    }
  }

  /** Calls until the cluster answers something other than UNAVAILABLE (it is healthy by then). */
  static <T> T retryCall(Supplier<T> call) throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try {
        return call.get();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || attempt > 50) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  private static int indexOf(List<History.Op> ops, History.Kind kind) {
    for (int i = 0; i < ops.size(); i++) {
      if (ops.get(i).kind() == kind && ops.get(i).outcome() == History.Outcome.OK) {
        return i;
      }
    }
    return -1;
  }

  /** Runs a client until the end time, or longer while too few faults have ended (never past latest). */
  private static void runUntil(Client c, long end, long latest, History history, int faultsMin) {
    c.runUntil(() -> {
      long now = System.currentTimeMillis();
      return now < end || (now < latest && history.faults().size() < faultsMin);
    });
  }

  /** The accounts, by the node that owns them, and how each is picked. */
  static final class Accounts {
    private final List<String> all;
    private final Map<String, String> owner;
    private final Map<String, List<String>> byNode;

    private Accounts(List<String> all, Map<String, String> owner) {
      this.all = all;
      this.owner = owner;
      this.byNode = new LinkedHashMap<>();
      all.forEach(a -> byNode.computeIfAbsent(owner.get(a), k -> new ArrayList<>()).add(a));
    }

    /** Opens and funds the accounts; retries until each has taken effect (the cluster is healthy now). */
    static Accounts open(LedgerServiceGrpc.LedgerServiceBlockingStub ledger, Ring ring, int count)
        throws InterruptedException {
      List<String> all = new ArrayList<>();
      Map<String, String> owner = new LinkedHashMap<>();
      for (int i = 0; i < count; i++) {
        String id = "acct-" + i;
        all.add(id);
        owner.put(id, ring.owner(TENANT, id).getNodeId());
        String account = id;
        retry(() -> ledger.createAccount(CreateAccountRequest.newBuilder().setRequestId("open-" + account)
            .setTenantId(TENANT).setAccountId(account).build()));
        retry(() -> ledger.deposit(DepositRequest.newBuilder().setRequestId("fund-" + account).setTenantId(TENANT)
            .setAccountId(account).setAmount(INITIAL_BALANCE).build()));
      }
      return new Accounts(all, owner);
    }

    private static void retry(Supplier<?> call) throws InterruptedException {
      retryCall(call);
    }

    /** The node owning an account. */
    String owner(String account) {
      return owner.get(account);
    }

    Map<String, Long> initialBalances() {
      Map<String, Long> out = new LinkedHashMap<>();
      all.forEach(a -> out.put(a, INITIAL_BALANCE));
      return out;
    }

    /** An account: one of the two hot ones with probability {@code hotShare}, else any. */
    String pick(Random random, double hotShare) {
      return random.nextDouble() < hotShare ? all.get(random.nextInt(2)) : all.get(random.nextInt(all.size()));
    }

    /** Two different accounts, on different nodes or on the same one. */
    String[] pair(Random random, boolean crossNode, double hotShare) {
      String from = pick(random, hotShare);
      List<String> candidates = new ArrayList<>();
      for (Map.Entry<String, List<String>> e : byNode.entrySet()) {
        if (e.getKey().equals(owner.get(from)) != crossNode) {
          candidates.addAll(e.getValue());
        }
      }
      candidates.remove(from);
      if (candidates.isEmpty()) {
        candidates = new ArrayList<>(all);
        candidates.remove(from);
      }
      return new String[] {from, candidates.get(random.nextInt(candidates.size()))};
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
