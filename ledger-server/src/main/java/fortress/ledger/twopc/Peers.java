package fortress.ledger.twopc;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.NodeChannels;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import fortress.core.security.Security;
import fortress.core.telemetry.Telemetry;
import java.util.Optional;
import java.util.function.Function;

/** The other ledger nodes, reached at the ring's addresses. */
public final class Peers implements AutoCloseable {
  private final RingFile ring;
  private final NodeChannels channels;

  /** {@code ring} is null for a standalone node, which has no peers. */
  public Peers(RingFile ring, Function<RingNode, ManagedChannel> connect) {
    this.ring = ring;
    this.channels = new NodeChannels(connect);
  }

  /** Netty channels to each node's address, with this node's TLS and node token, traced. */
  public static Function<RingNode, ManagedChannel> netty(Security security, Telemetry telemetry) {
    return node -> security.tls().channel(node.getAddress()).intercept(security.memberCredentials())
        .intercept(telemetry.clientInterceptor()).build();
  }

  /**
   * The async ShardService stub of a node, or empty if the ring does not know it. Calls wait for
   * the channel to be ready rather than failing at once while it reconnects (a peer that just
   * restarted); every call between nodes carries a deadline, which bounds the wait.
   */
  public Optional<ShardServiceGrpc.ShardServiceStub> shard(String nodeId) {
    if (ring == null) {
      return Optional.empty();
    }
    return ring.current().node(nodeId).or(() -> ring.refresh().node(nodeId))
        .map(n -> ShardServiceGrpc.newStub(channels.channel(n)).withWaitForReady());
  }

  /** Lets every channel reconnect at once; recovery calls it before each round. */
  public void resetBackoff() {
    channels.resetBackoff();
  }

  @Override
  public void close() throws InterruptedException {
    channels.close();
  }
}
