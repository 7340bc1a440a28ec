package fortress.proxy.route;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.NodeChannels;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptor;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The ring in force and the ledger nodes on it. */
public final class Nodes implements AutoCloseable {
  /** How often every node of the ring is checked to be connected. */
  static final long KEEP_CONNECTED_MS = 1_000;

  private final RingFile ring;
  private final NodeChannels channels;
  private final ClientInterceptor[] credentials;
  private ScheduledFuture<?> keeper;

  /** {@code credentials} are what the proxy presents on every call to a node (its own node token, with mTLS off). */
  public Nodes(RingFile ring, Function<RingNode, ManagedChannel> connect, List<ClientInterceptor> credentials) {
    this.ring = ring;
    this.channels = new NodeChannels(connect);
    this.credentials = credentials.toArray(ClientInterceptor[]::new);
  }

  public RingFile ring() {
    return ring;
  }

  public LedgerServiceGrpc.LedgerServiceStub ledger(RingNode node) {
    return LedgerServiceGrpc.newStub(channels.channel(node)).withInterceptors(credentials);
  }

  /** A stub whose answers are the bytes the node sent, for calls the proxy passes on unread. */
  public RawStub raw(RingNode node) {
    return new RawStub(channels.channel(node), CallOptions.DEFAULT).withInterceptors(credentials);
  }

  public ShardServiceGrpc.ShardServiceStub shard(RingNode node) {
    return ShardServiceGrpc.newStub(channels.channel(node)).withInterceptors(credentials);
  }

  /**
   * Connects to every node of the ring in force now, and again every {@link #KEEP_CONNECTED_MS}, so
   * that no call waits for a connection to be made: a connection gone idle (a node closes
   * connections idle for its max-connection-idle-ms) is made again, a node that failed to connect
   * is tried again at once instead of after its growing backoff, and a node that joins the ring is
   * connected. A node that leaves the ring is left alone; its connection lapses.
   */
  public void keepConnected(ScheduledExecutorService executor) {
    connectRing();
    keeper = executor.scheduleWithFixedDelay(this::connectRing, KEEP_CONNECTED_MS, KEEP_CONNECTED_MS,
        TimeUnit.MILLISECONDS);
  }

  private void connectRing() {
    for (RingNode node : ring.current().nodes()) {
      ManagedChannel channel = channels.channel(node);
      if (channel.getState(true) == ConnectivityState.TRANSIENT_FAILURE) {
        channel.resetConnectBackoff();
      }
    }
  }

  /** Lets the next call to a node that just failed reconnect at once. */
  public void resetBackoff(RingNode node) {
    channels.resetBackoff(node);
  }

  @Override
  public void close() throws InterruptedException {
    if (keeper != null) {
      keeper.cancel(false);
    }
    channels.close();
  }
}
