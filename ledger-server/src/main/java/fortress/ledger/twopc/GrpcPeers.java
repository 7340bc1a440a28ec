package fortress.ledger.twopc;

import static com.google.common.base.Preconditions.checkState;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.NodeChannels;
import fortress.core.rpc.UnaryFuture;
import fortress.core.security.Security;
import fortress.core.telemetry.Telemetry;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitLegsRequest;
import fortress.shard.v1.CommitLegsResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareLegsRequest;
import fortress.shard.v1.PrepareLegsResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.ShardServiceGrpc;
import fortress.shard.v1.ShardServiceGrpc.ShardServiceStub;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The other ledger nodes over gRPC, at the ring's addresses. Prepare and Commit calls to a node go
 * at most {@value #CALLS_IN_FLIGHT_MAX} at a time per kind: while they are all in flight, further
 * ones queue, and go together in one PrepareLegs or CommitLegs call as soon as one returns (at
 * most {@value #LEGS_PER_CALL_MAX} legs per call, at most {@value #QUEUED_MAX} waiting per node
 * and kind; beyond that a call fails at once with RESOURCE_EXHAUSTED). A call goes at once, as the
 * single-leg RPC, when a slot is free, so nothing waits for a batch to fill; and a call lost on the
 * network holds one slot until its deadline, not the whole node. A node that does not know the
 * batched RPCs (UNIMPLEMENTED: an older node) gets single-leg calls from then on.
 */
public final class GrpcPeers implements Peers, AutoCloseable {
  /** The most legs one PrepareLegs or CommitLegs call carries (the server's limit too). */
  static final int LEGS_PER_CALL_MAX = 256;
  /** The most calls of one kind waiting for one node while all its slots are in flight. */
  static final int QUEUED_MAX = 4096;
  /** The most calls of one kind in flight to one node at once. */
  static final int CALLS_IN_FLIGHT_MAX = 4;

  private final RingFile ring;
  private final NodeChannels channels;
  private final Map<String, String> addresses;
  private final ClientInterceptor[] credentials;
  private final Map<String, Lane<PrepareRequest, PrepareResponse>> prepares = new ConcurrentHashMap<>();
  private final Map<String, Lane<CommitRequest, CommitResponse>> commits = new ConcurrentHashMap<>();
  /** Batched calls sent (PrepareLegs and CommitLegs), for tests. */
  private final AtomicLong batchedCalls = new AtomicLong();

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
    return prepares.computeIfAbsent(node, n -> new Lane<>(n, "Prepare",
        (q, ms) -> call(n, ms, (stub, out) -> stub.prepare(q, out)),
        (qs, ms) -> this.<PrepareLegsResponse>batchCall(n, ms,
                (stub, out) -> stub.prepareLegs(PrepareLegsRequest.newBuilder().addAllLegs(qs).build(), out))
            .thenApply(answer -> answer.getResultsList().stream()
                .<Object>map(x -> x.hasVote() ? x.getVote() : StatusProto.toStatusRuntimeException(x.getError()))
                .toList())))
        .send(r, timeoutMs);
  }

  @Override
  public CompletableFuture<CommitResponse> commit(String node, CommitRequest r, long timeoutMs) {
    return commits.computeIfAbsent(node, n -> new Lane<>(n, "Commit",
        (q, ms) -> call(n, ms, (stub, out) -> stub.commit(q, out)),
        (qs, ms) -> this.<CommitLegsResponse>batchCall(n, ms,
                (stub, out) -> stub.commitLegs(CommitLegsRequest.newBuilder().addAllLegs(qs).build(), out))
            .thenApply(answer -> answer.getResultsList().stream()
                .<Object>map(x -> x.hasApplied() ? x.getApplied() : StatusProto.toStatusRuntimeException(x.getError()))
                .toList())))
        .send(r, timeoutMs);
  }

  private <T> CompletableFuture<T> batchCall(String node, long timeoutMs,
      BiConsumer<ShardServiceStub, StreamObserver<T>> start) {
    batchedCalls.incrementAndGet();
    return call(node, timeoutMs, start);
  }

  /** Batched calls sent so far. */
  long batchedCalls() {
    return batchedCalls.get();
  }

  /** A call waiting in a lane: its request, when its deadline passes, and its caller's future. */
  private record Waiting<Q, R>(Q request, long deadlineNanos, CompletableFuture<R> result) {
    long remainingMs() {
      return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    }
  }

  /**
   * The calls of one kind to one node: at most {@link #CALLS_IN_FLIGHT_MAX} in flight; calls made
   * while all are in flight queue, and go together in one batched call when one returns. {@code batch} answers, per request in
   * order, the response or the Throwable it failed with.
   */
  private static final class Lane<Q, R> {
    private final String node;
    private final String kind;
    private final BiFunction<Q, Long, CompletableFuture<R>> single;
    private final BiFunction<List<Q>, Long, CompletableFuture<List<Object>>> batch;
    private final Deque<Waiting<Q, R>> queued = new ArrayDeque<>();
    private int inFlight;
    private volatile boolean batchesUnknown;

    Lane(String node, String kind, BiFunction<Q, Long, CompletableFuture<R>> single,
        BiFunction<List<Q>, Long, CompletableFuture<List<Object>>> batch) {
      this.node = node;
      this.kind = kind;
      this.single = single;
      this.batch = batch;
    }

    CompletableFuture<R> send(Q request, long timeoutMs) {
      Waiting<Q, R> w = new Waiting<>(request, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs),
          new CompletableFuture<>());
      synchronized (this) {
        if (inFlight >= CALLS_IN_FLIGHT_MAX) {
          if (queued.size() >= QUEUED_MAX) {
            w.result().completeExceptionally(Status.RESOURCE_EXHAUSTED.withDescription(QUEUED_MAX + " " + kind
                + " calls to node " + node + " are already waiting; nothing was sent").asRuntimeException());
          } else {
            queued.add(w);
          }
          return w.result();
        }
        inFlight++;
      }
      start(List.of(w)).whenComplete((v, e) -> next());
      return w.result();
    }

    /** Sends the waiting calls in the slot a call just freed; frees the slot when none wait. */
    private void next() {
      List<Waiting<Q, R>> ready = new ArrayList<>();
      synchronized (this) {
        while (ready.size() < LEGS_PER_CALL_MAX && !queued.isEmpty()) {
          Waiting<Q, R> w = queued.poll();
          if (w.remainingMs() > 0) {
            ready.add(w);
          } else {
            w.result().completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription(kind + " to node " + node
                + " waited past its deadline behind an earlier call; not sent").asRuntimeException());
          }
        }
        if (ready.isEmpty()) {
          checkState(inFlight > 0, "a %s slot to node %s was freed twice", kind, node);
          inFlight--;
          return;
        }
      }
      start(ready).whenComplete((v, e) -> next());
    }

    /** One call for the lot (the single-leg RPC for one); completes when every caller has its answer. */
    private CompletableFuture<Void> start(List<Waiting<Q, R>> ws) {
      if (ws.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      if (ws.size() == 1 || batchesUnknown) {
        return CompletableFuture.allOf(ws.stream().map(w -> single.apply(w.request(), Math.max(1, w.remainingMs()))
            .whenComplete((r, e) -> settle(w, r, e))).toArray(CompletableFuture[]::new)).handle((v, e) -> null);
      }
      long timeoutMs = Math.max(1, ws.stream().mapToLong(Waiting::remainingMs).min().orElse(1));
      return batch.apply(ws.stream().map(Waiting::request).toList(), timeoutMs).handle((answers, e) -> {
        if (e != null && Status.fromThrowable(e).getCode() == Status.Code.UNIMPLEMENTED) {
          batchesUnknown = true;
          return start(ws);
        }
        for (int i = 0; i < ws.size(); i++) {
          Object answer = e != null ? e : answers.size() != ws.size()
              ? Status.INTERNAL.withDescription("node " + node + " answered " + answers.size() + " results for "
                  + ws.size() + " legs").asRuntimeException()
              : answers.get(i);
          settle(ws.get(i), answer instanceof Throwable ? null : answer, answer instanceof Throwable t ? t : null);
        }
        return CompletableFuture.<Void>completedFuture(null);
      }).thenCompose(f -> f);
    }

    @SuppressWarnings("unchecked")
    private void settle(Waiting<Q, R> w, Object response, Throwable error) {
      if (error != null) {
        w.result().completeExceptionally(error);
      } else {
        w.result().complete((R) response);
      }
    }
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
   * wait. A call is never cancelled with the gRPC call that is current when it starts. Fails with
   * UNAVAILABLE if the ring does not know the peer.
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
    // Not cancelled with whichever call is current: a batched call carries legs of many transfers.
    Context forked = Context.current().fork();
    Context previous = forked.attach();
    try {
      start.accept(stub.get().withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS), result);
    } finally {
      forked.detach(previous);
    }
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
