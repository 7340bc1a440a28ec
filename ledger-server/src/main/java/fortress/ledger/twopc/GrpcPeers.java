package fortress.ledger.twopc;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.NodeChannels;
import fortress.core.rpc.UnaryFuture;
import fortress.core.security.Security;
import fortress.core.telemetry.Telemetry;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.ShardServiceGrpc;
import fortress.shard.v1.ShardServiceGrpc.ShardServiceStub;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/** The other ledger nodes over gRPC, at the ring's addresses. */
public final class GrpcPeers implements Peers, AutoCloseable {
  private final RingFile ring;
  private final NodeChannels channels;
  private final Map<String, String> addresses;
  private final ClientInterceptor[] credentials;

  /**
   * {@code ring} is null for a standalone node, which has no peers; {@code addresses} names, by node
   * id, where to reach a node instead of its ring address; {@code credentials} are what this node
   * presents on every call (its own node token, when mTLS is off), whatever the channel.
   */
  public GrpcPeers(RingFile ring, Function<RingNode, ManagedChannel> connect, Map<String, String> addresses,
      List<ClientInterceptor> credentials) {
    this.ring = ring;
    this.channels = new NodeChannels(connect);
    this.addresses = Map.copyOf(addresses);
    this.credentials = credentials.toArray(ClientInterceptor[]::new);
  }

  /** Netty channels to each node's address, with this node's TLS (and certificate), traced. */
  public static Function<RingNode, ManagedChannel> netty(Security security, Telemetry telemetry) {
    return node -> security.tls().channel(node.getAddress()).intercept(telemetry.clientInterceptor()).build();
  }

  @Override
  public CompletableFuture<PrepareResponse> prepare(String node, PrepareRequest r, long timeoutMs) {
    return call(node, timeoutMs, (stub, out) -> stub.prepare(r, out));
  }

  @Override
  public CompletableFuture<CommitResponse> commit(String node, CommitRequest r, long timeoutMs) {
    return call(node, timeoutMs, (stub, out) -> stub.commit(r, out));
  }

  @Override
  public CompletableFuture<AbortResponse> abort(String node, AbortRequest r, long timeoutMs) {
    return call(node, timeoutMs, (stub, out) -> stub.abort(r, out));
  }

  @Override
  public CompletableFuture<GetDecisionResponse> getDecision(String node, GetDecisionRequest r, long timeoutMs) {
    return call(node, timeoutMs, (stub, out) -> stub.getDecision(r, out));
  }

  /**
   * Starts a unary call on a peer's ShardService. Calls wait for the channel to be ready rather
   * than failing at once while it reconnects (a peer that just restarted); the deadline bounds the
   * wait. Fails with UNAVAILABLE if the ring does not know the peer.
   */
  private <T> CompletableFuture<T> call(String node, long timeoutMs, BiConsumer<ShardServiceStub, StreamObserver<T>> start) {
    UnaryFuture<T> result = new UnaryFuture<>();
    Optional<ShardServiceStub> stub = ring == null ? Optional.empty()
        : ring.current().node(node).or(() -> ring.refresh().node(node))
            .map(n -> addresses.containsKey(node) ? n.toBuilder().setAddress(addresses.get(node)).build() : n)
            .map(n -> ShardServiceGrpc.newStub(channels.channel(n)).withInterceptors(credentials).withWaitForReady());
    if (stub.isEmpty()) {
      result.completeExceptionally(Status.UNAVAILABLE.withDescription("node " + node + " is not on the ring")
          .asRuntimeException());
      return result;
    }
    start.accept(stub.get().withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS), result);
    return result;
  }

  @Override
  public void resetBackoff() {
    channels.resetBackoff();
  }

  @Override
  public void close() throws InterruptedException {
    channels.close();
  }
}
