package fortress.core.rpc;

import fortress.cluster.v1.RingNode;
import io.grpc.ManagedChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One channel per ledger node (by id and address), opened on first use and shared by every call.
 * A node that failed can be retried at once with {@link #resetBackoff}, instead of after the
 * channel's reconnect backoff (up to two minutes), so a restarted node is used as soon as it is back.
 */
public final class NodeChannels implements AutoCloseable {
  private final Function<RingNode, ManagedChannel> connect;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  public NodeChannels(Function<RingNode, ManagedChannel> connect) {
    this.connect = connect;
  }

  public ManagedChannel channel(RingNode node) {
    return channels.computeIfAbsent(key(node), k -> connect.apply(node));
  }

  public void resetBackoff(RingNode node) {
    ManagedChannel c = channels.get(key(node));
    if (c != null) {
      c.resetConnectBackoff();
    }
  }

  public void resetBackoff() {
    channels.values().forEach(ManagedChannel::resetConnectBackoff);
  }

  private static String key(RingNode node) {
    return node.getNodeId() + "@" + node.getAddress();
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
