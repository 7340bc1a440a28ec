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
import java.util.function.Function;

/** The ring in force and the ledger nodes on it. */
public final class Nodes implements AutoCloseable {
  private final RingFile ring;
  private final NodeChannels channels;
  private final ClientInterceptor[] credentials;

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
   * Connects to every node of the ring in force, and again whenever a connection goes idle (a
   * node closes connections idle for its max-connection-idle-ms), so that no call waits for a
   * connection to be made. A node that joins the ring later is connected on its first call.
   */
  public void keepConnected() {
    for (RingNode node : ring.current().nodes()) {
      keepConnected(channels.channel(node));
    }
  }

  private static void keepConnected(ManagedChannel channel) {
    ConnectivityState state = channel.getState(true);
    if (state != ConnectivityState.SHUTDOWN) {
      channel.notifyWhenStateChanged(state, () -> keepConnected(channel));
    }
  }

  /** Lets the next call to a node that just failed reconnect at once. */
  public void resetBackoff(RingNode node) {
    channels.resetBackoff(node);
  }

  @Override
  public void close() throws InterruptedException {
    channels.close();
  }
}
