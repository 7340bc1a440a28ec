package fortress.ledger.twopc;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** One channel per other ledger node, opened on first use from the ring's addresses. */
public final class Peers implements AutoCloseable {
  private final RingFile ring;
  private final Function<RingNode, ManagedChannel> connect;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  /** {@code ring} is null for a standalone node, which has no peers. */
  public Peers(RingFile ring, Function<RingNode, ManagedChannel> connect) {
    this.ring = ring;
    this.connect = connect;
  }

  /** Plaintext Netty channels to each node's address. */
  public static Function<RingNode, ManagedChannel> netty() {
    return node -> NettyChannelBuilder.forTarget(node.getAddress()).usePlaintext().build();
  }

  /** The async ShardService stub of a node, or empty if the ring does not know it. */
  public Optional<ShardServiceGrpc.ShardServiceStub> shard(String nodeId) {
    if (ring == null) {
      return Optional.empty();
    }
    Optional<RingNode> node = ring.current().node(nodeId).or(() -> ring.refresh().node(nodeId));
    return node.map(n -> ShardServiceGrpc.newStub(channels.computeIfAbsent(n.getNodeId() + "@" + n.getAddress(),
        k -> connect.apply(n))));
  }

  /** Lets every channel reconnect at once; recovery calls it before each round. */
  public void resetBackoff() {
    channels.values().forEach(ManagedChannel::resetConnectBackoff);
  }

  @Override
  public void close() throws InterruptedException {
    for (ManagedChannel c : channels.values()) {
      c.shutdown();
    }
    for (ManagedChannel c : channels.values()) {
      if (!c.awaitTermination(2, TimeUnit.SECONDS)) {
        c.shutdownNow();
      }
    }
  }
}
