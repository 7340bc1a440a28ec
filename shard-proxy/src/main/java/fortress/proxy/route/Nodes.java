package fortress.proxy.route;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.NodeChannels;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ClientInterceptor;
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

  public ShardServiceGrpc.ShardServiceStub shard(RingNode node) {
    return ShardServiceGrpc.newStub(channels.channel(node)).withInterceptors(credentials);
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
