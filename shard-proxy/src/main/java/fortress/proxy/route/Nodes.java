package fortress.proxy.route;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The ring in force and one channel per ledger node, opened on first use. */
public final class Nodes implements AutoCloseable {
  private final RingFile ring;
  private final Function<RingNode, ManagedChannel> connect;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  public Nodes(RingFile ring, Function<RingNode, ManagedChannel> connect) {
    this.ring = ring;
    this.connect = connect;
  }

  public RingFile ring() {
    return ring;
  }

  public LedgerServiceGrpc.LedgerServiceStub ledger(RingNode node) {
    return LedgerServiceGrpc.newStub(channel(node));
  }

  public ShardServiceGrpc.ShardServiceStub shard(RingNode node) {
    return ShardServiceGrpc.newStub(channel(node));
  }

  /**
   * Lets a call to a node that just failed reconnect at once, instead of after the channel's
   * reconnect backoff (up to two minutes): a node that restarted is used as soon as it is back.
   */
  public void resetBackoff(RingNode node) {
    ManagedChannel c = channels.get(node.getNodeId() + "@" + node.getAddress());
    if (c != null) {
      c.resetConnectBackoff();
    }
  }

  private ManagedChannel channel(RingNode node) {
    return channels.computeIfAbsent(node.getNodeId() + "@" + node.getAddress(), k -> connect.apply(node));
  }

  @Override
  public void close() throws InterruptedException {
    channels.values().forEach(ManagedChannel::shutdown);
    for (ManagedChannel c : channels.values()) {
      if (!c.awaitTermination(2, TimeUnit.SECONDS)) {
        c.shutdownNow();
      }
    }
  }
}
