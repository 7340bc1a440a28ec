package fortress.ledger;

import fortress.cluster.v1.Ring;
import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.ledger.v1.Account;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.NodeTotals;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Real ledger nodes on their own fresh databases, sharing a ring file, talking to each other over
 * in-process channels. Nodes can be stopped and started again on the same database.
 */
public final class TestCluster implements AutoCloseable {
  private final String prefix = "cluster-" + UUID.randomUUID() + "-";
  private final Path ringFile;
  private final Ring ring;
  private final UnaryOperator<LedgerConfig> tune;
  private final Function<String, List<String>> extraFlags;
  private final List<ClientInterceptor> credentials;
  private final Map<String, TestNode> nodes = new LinkedHashMap<>();
  /** Each node's first configuration: a restart reuses its database and keys. */
  private final Map<String, LedgerConfig> first = new LinkedHashMap<>();
  private final Links links = new Links();

  public TestCluster(int size) {
    this(size, c -> c);
  }

  public TestCluster(int size, UnaryOperator<LedgerConfig> tune) {
    this(size, tune, node -> List.of());
  }

  /** A cluster whose nodes also get {@code extraFlags} (they override the test defaults). */
  public TestCluster(int size, List<String> extraFlags) {
    this(size, c -> c, node -> extraFlags);
  }

  /**
   * A cluster whose nodes also get the flags {@code extraFlags} gives for each node id, and whose
   * helpers ({@link TestNode#stub()}, {@link #totals}) call with {@code credentials}, as the proxy would.
   */
  public static TestCluster withFlags(int size, Function<String, List<String>> extraFlags,
      List<ClientInterceptor> credentials) {
    return new TestCluster(size, c -> c, extraFlags, credentials);
  }

  private TestCluster(int size, UnaryOperator<LedgerConfig> tune, Function<String, List<String>> extraFlags) {
    this(size, tune, extraFlags, List.of());
  }

  private TestCluster(int size, UnaryOperator<LedgerConfig> tune, Function<String, List<String>> extraFlags,
      List<ClientInterceptor> credentials) {
    this.tune = tune;
    this.extraFlags = extraFlags;
    this.credentials = List.copyOf(credentials);
    Ring.Builder spec = Ring.newBuilder().setEpoch(1);
    for (int i = 1; i <= size; i++) {
      spec.addNodes(RingNode.newBuilder().setNodeId("ledger-" + i).setAddress("127.0.0.1:" + (50060 + i)));
    }
    ring = spec.build();
    try {
      ringFile = Files.createTempFile("ring", ".txtpb");
      RingFile.write(ringFile, ring);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (RingNode n : ring.getNodesList()) {
      start(n.getNodeId());
    }
  }

  /** Starts (or restarts, on its old database) a node. */
  public TestNode start(String nodeId) {
    List<String> flagList = new ArrayList<>(List.of("--node-id=" + nodeId, "--ring-file=" + ringFile,
        "--prepare-timeout-ms=2000", "--in-doubt-timeout-ms=500", "--recovery-interval-ms=200"));
    flagList.addAll(extraFlags.apply(nodeId));
    String[] flags = flagList.toArray(String[]::new);
    LedgerConfig before = first.get(nodeId);
    TestNode node = new TestNode(prefix + nodeId, flags, before == null ? tune : c -> tune.apply(c)
        .withJdbc(before.jdbcUrl(), "postgres", "").withKeys(before.journalKey(), before.cardKey()),
        target -> InProcessChannelBuilder.forName(prefix + target.getNodeId())
            .intercept(links.between(nodeId, target.getNodeId())).build(), credentials);
    first.putIfAbsent(nodeId, node.server.config());
    nodes.put(nodeId, node);
    return node;
  }

  /** Stops a node as a clean shutdown would; its database stays. */
  public void stop(String nodeId) {
    TestNode node = nodes.remove(nodeId);
    if (node != null) {
      node.close();
    }
  }

  /** An in-process channel to a node of this cluster. */
  public ManagedChannel connect(RingNode node) {
    return InProcessChannelBuilder.forName(prefix + node.getNodeId()).build();
  }

  /** Fault injection on the channels between the nodes. */
  public Links links() {
    return links;
  }

  public TestNode node(String nodeId) {
    return nodes.get(nodeId);
  }

  public List<TestNode> nodes() {
    return new ArrayList<>(nodes.values());
  }

  public fortress.core.ring.Ring ring() {
    return fortress.core.ring.Ring.of(ring);
  }

  public Path ringFile() {
    return ringFile;
  }

  /** The node that owns an account. */
  public TestNode owner(String tenant, String account) {
    return nodes.get(ring().owner(tenant, account).getNodeId());
  }

  /** An account id with this prefix that the given node owns. */
  public String accountOn(String nodeId, String tenant, String prefix) {
    fortress.core.ring.Ring r = ring();
    for (int i = 0; ; i++) {
      String candidate = prefix + i;
      if (r.owner(tenant, candidate).getNodeId().equals(nodeId)) {
        return candidate;
      }
    }
  }

  /** Opens an account with this prefix on the given node, funded with {@code deposit}; returns its id. */
  public String openOn(String nodeId, String tenant, String prefix, long deposit) {
    String account = accountOn(nodeId, tenant, prefix);
    open(tenant, account, deposit);
    return account;
  }

  public Account open(String tenant, String account, long deposit) {
    return owner(tenant, account).open(tenant, account, deposit);
  }

  public Account account(String tenant, String account) {
    return owner(tenant, account).account(tenant, account);
  }

  public NodeTotals totals(String nodeId) {
    return ShardServiceGrpc.newBlockingStub(nodes.get(nodeId).channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .getTotals(GetTotalsRequest.getDefaultInstance()).getTotals();
  }

  @Override
  public void close() throws IOException {
    for (TestNode n : nodes.values()) {
      n.close();
    }
    nodes.clear();
    Files.deleteIfExists(ringFile);
  }
}
