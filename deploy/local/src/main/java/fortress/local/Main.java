package fortress.local;

import fortress.core.Settings;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code deploy/local/run}: the whole local cluster until Ctrl-C, with every server supervised.
 * {@code --help} lists the flags.
 */
public final class Main {
  /** The exit status when the flags are wrong or the cluster cannot start here (a port, the data folder). */
  static final int EXIT_USAGE = 2;

  private static final String ABOUT = """
      Fortress local cluster: one embedded PostgreSQL, the ledger nodes, the shard proxy, the shadow
      and the decoy server, each in its own process, until Ctrl-C.

      The servers run from copies of their jars in <data-dir>/bin, taken at start, so a build
      (mvn verify) that rewrites target/ meanwhile changes nothing for them or their restarts.

      Supervision: a server that dies unexpectedly is reported at once (its exit status and the last
      lines of its log) and started again after 1 s, 2 s, 4 s ... (at most 30 s); after --restart-max
      restarts within --restart-window-ms it is given up on and the rest keeps running. It says when
      a restarted server is SERVING again. --supervise=false leaves dead servers dead.

      A port flag of 0 picks a free port. A fixed port that is taken, or a data folder another launcher
      runs on, stops the start with one line naming the flag to change, and exit status 2.

      Flags (or the environment variables beside them):
      """;

  private Main() {}

  public static void main(String[] args) throws Exception {
    Settings s = new Settings(Arrays.stream(args).filter(a -> !a.equals("--help")).toArray(String[]::new),
        System.getenv());
    LocalCluster.Options options = options(s);
    boolean supervise = s.bool("supervise", true, "restart servers that die unexpectedly; false leaves them dead");
    int restartMax = s.integer("restart-max", Supervisor.Policy.RESTART_MAX_DEFAULT, 1, 100,
        "restarts of one server within --restart-window-ms before supervision gives up on it");
    long restartWindowMs = s.number("restart-window-ms", Supervisor.Policy.RESTART_WINDOW_MS_DEFAULT, 1_000,
        86_400_000, "the window --restart-max counts restarts in");
    if (Arrays.asList(args).contains("--help")) {
      System.out.print(ABOUT + s.usage());
      return;
    }
    try {
      s.finish();
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(EXIT_USAGE);
    }
    LocalCluster cluster;
    try {
      cluster = LocalCluster.start(options, Map.of());
    } catch (LocalCluster.Stopped e) {
      return; // Ctrl-C during start-up: the shutdown under way stopped what had started
    } catch (LocalCluster.StartRefused e) {
      System.err.println(e.getMessage());
      System.exit(EXIT_USAGE);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        cluster.close();
        System.out.println("Fortress local cluster stopped.");
      } catch (Exception e) {
        System.err.println("stopping the cluster: " + e);
      }
    }, "cluster-shutdown"));
    if (supervise) {
      Supervisor.watch(cluster, Supervisor.Policy.of(restartMax, restartWindowMs), System.out);
    }
    printReady(cluster, options, supervise);
    Thread.currentThread().join();
  }

  /** The cluster's flags; each port flag is the {@link LocalCluster.Options} component of the same name. */
  private static LocalCluster.Options options(Settings s) {
    Path dataDir = Path.of(s.string("data-dir", ".fortress/cluster", "PostgreSQL data, keys, ring file, jar copies "
        + "and logs"));
    int nodes = s.integer("nodes", 3, 1, 16, "ledger nodes to start");
    String host = s.string("host", "127.0.0.1", "address every server binds");
    int proxyPort = s.integer("proxy-port", 50051, 0, 65535, "the shard proxy's gRPC port");
    int shadowPort = s.integer("shadow-port", 50071, 0, 65535, "the shadow server's gRPC port");
    int decoyPort = s.integer("decoy-port", 50081, 0, 65535, "the decoy server's gRPC port");
    int decoyHttpPort = s.integer("decoy-http-port", 8088, 0, 65535, "the decoy HTTP listener's port");
    int nodePortBase = s.integer("node-port-base", 50061, 0, 65535, "ledger-1's gRPC port; the next nodes follow");
    int metricsPortBase = s.integer("metrics-port-base", LocalCluster.METRICS_PORT_BASE_DEFAULT, 0, 65535,
        "the proxy's Prometheus port; the nodes', the shadow's and the decoy's follow");
    String heap = s.string("java-heap", "256m", "maximum heap of each server process");
    Path root = Path.of(s.string("root", ".", "the Fortress checkout holding the built jars"));
    boolean tls = s.bool("tls", false, "run every hop over mTLS, with a throwaway CA and certificates in "
        + "<data-dir>/tls");
    return new LocalCluster.Options(root, dataDir, nodes, host, proxyPort, shadowPort, decoyPort, decoyHttpPort,
        nodePortBase, heap, false, tls, metricsPortBase);
  }

  private static void printReady(LocalCluster cluster, LocalCluster.Options options, boolean supervise) {
    Path dataDir = options.dataDir();
    boolean tls = options.tls();
    String proxy = cluster.address(LocalCluster.PROXY);
    StringBuilder nodeLines = new StringBuilder();
    for (String nodeId : cluster.nodeIds()) {
      nodeLines.append(String.format("  %-8s %s%n", nodeId, cluster.address(nodeId)));
    }
    Path tokenFile = dataDir.resolve("dev-token").toAbsolutePath();
    String transport = tls
        ? "-cacert " + cluster.clientTls().caFile() + " -cert " + cluster.clientTls().certFile() + " -key "
            + cluster.clientTls().keyFile()
        : "-plaintext";
    System.out.printf("""
        Fortress local cluster is ready%s.
          proxy    %s   (fortress.ledger.v1.LedgerService, fortress.cluster.v1.ClusterService)
          shadow   %s   (fortress.shadow.v1.ShadowService)
          decoy    %s   (fortress.decoy.v1.DecoyService), decoy HTTP on http://%s/
        %s  postgres 127.0.0.1:%d (embedded, durable), data in %s
          logs     %s
          metrics  %s
        Development token (tenant %s, admin role, 30 days), also in %s:
          %s
        Try:
          TOKEN=$(cat %s)
          grpcurl %s %s list
          grpcurl %s -H "authorization: Bearer $TOKEN" -d '{"tenant_id":"acme","account_ids":["alice","bob"]}' \
            %s fortress.cluster.v1.ClusterService/GetRing
          grpcurl %s -H "authorization: Bearer $TOKEN" %s fortress.cluster.v1.ClusterService/GetClusterTotals
          grpcurl %s -H "authorization: Bearer $TOKEN" -d '{"attributes":{"ip":"203.0.113.7","path":"/admin"}}' \
            %s fortress.shadow.v1.ShadowService/Decide
          grpcurl %s -H "authorization: Bearer $TOKEN" -d '{"kind":"RECORD_KIND_TRANSACTION","count":3,"seed":7}' \
            %s fortress.decoy.v1.DecoyService/Generate
        %s
        Ctrl-C stops everything.
        """, tls ? " (mTLS on every hop)" : "", proxy, cluster.address(LocalCluster.SHADOW),
        cluster.address(LocalCluster.DECOY), cluster.decoyHttpAddress(), nodeLines, cluster.postgres().port(),
        dataDir.toAbsolutePath(), dataDir.resolve("logs").toAbsolutePath(),
        String.join(", ", cluster.names().stream().map(n -> n + " " + cluster.metricsUrl(n)).toList()),
        LocalCluster.DEV_TENANT, tokenFile,
        cluster.devToken(), tokenFile, transport, proxy, transport, proxy, transport, proxy, transport,
        cluster.address(LocalCluster.SHADOW), transport, cluster.address(LocalCluster.DECOY),
        supervise ? "A server that dies is reported here and started again (--supervise=false to turn off)."
            : "Supervision is off: a server that dies stays dead.");
  }
}
