package fortress.proxy.route;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.Ring;
import fortress.core.rpc.UnaryFuture;
import fortress.ledger.v1.ErrorReason;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends calls to ledger nodes without blocking a thread: async stubs, futures, and retries
 * scheduled on a timer. The caller's deadline and cancellation travel with every attempt (each
 * attempt runs in the caller's gRPC Context); a call without a deadline gets the default one.
 *
 * <p>Retries happen only when they are safe: after WRONG_NODE (the node refused before doing
 * anything; the ring is read again first), and after UNAVAILABLE, because every mutation carries
 * a request_id, so a repeat cannot take effect twice, and reads change nothing.
 */
public final class Forwarder {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);

  /** A unary call on a stub: {@code (stub, observer) -> stub.method(request, observer)}. */
  public interface Call<S, T> extends BiConsumer<S, StreamObserver<T>> {}

  /** A node's answer, or why there is none. */
  public record Answer<T>(RingNode node, T value, Throwable error) {}

  private final Nodes nodes;
  private final ScheduledExecutorService timer;
  private final long callTimeoutMsDefault;
  private final int retriesMax;
  private final long retryBackoffMs;

  public Forwarder(Nodes nodes, ScheduledExecutorService timer, long callTimeoutMsDefault, int retriesMax,
      long retryBackoffMs) {
    this.nodes = nodes;
    this.timer = timer;
    this.callTimeoutMsDefault = callTimeoutMsDefault;
    this.retriesMax = retriesMax;
    this.retryBackoffMs = retryBackoffMs;
  }

  public Nodes nodes() {
    return nodes;
  }

  /** The node that owns the key under the ring in force; any node when there is no key. */
  public RingNode owner(OptionalLong key) {
    Ring ring = nodes.ring().current();
    return key.isPresent() ? ring.owner(key.getAsLong()) : ring.nodes().get(0);
  }

  /** A LedgerService read from the owner of the key, retried where safe. */
  public <T> CompletableFuture<T> toOwner(OptionalLong key, Call<fortress.ledger.v1.LedgerServiceGrpc.LedgerServiceStub,
      T> call) {
    return send(() -> owner(key), nodes::ledger, call, false);
  }

  /** A read from the owner of the key, its answer the node's bytes, retried where safe. */
  public <Q> CompletableFuture<byte[]> readOwner(OptionalLong key, MethodDescriptor<Q, byte[]> method, Q request) {
    return send(() -> owner(key), nodes::raw, (RawStub stub, StreamObserver<byte[]> o) -> stub.call(method, request, o),
        false);
  }

  /** A mutation on the owner of the key, its answer the node's bytes, retried where safe (see {@link #send}). */
  public <Q> CompletableFuture<byte[]> mutateOwner(OptionalLong key, MethodDescriptor<Q, byte[]> method, Q request) {
    return send(() -> owner(key), nodes::raw, (RawStub stub, StreamObserver<byte[]> o) -> stub.call(method, request, o),
        true);
  }

  /**
   * A call to whichever node {@code target} names at each attempt, retried on UNAVAILABLE and
   * WRONG_NODE. For a {@code mutation}, an attempt that may have taken effect (its error's effect
   * is EFFECT_UNKNOWN) keeps the answer uncertain: if a later attempt fails with a certain
   * refusal, the client is still told the earlier, uncertain error, since the earlier attempt may
   * yet land.
   */
  public <S extends AbstractStub<S>, T> CompletableFuture<T> send(Supplier<RingNode> target,
      Function<RingNode, S> stubs, Call<S, T> call, boolean mutation) {
    return send(target, stubs, call, mutation, (value, earlier) -> value);
  }

  /**
   * The same for a mutation whose response carries outcomes of its own (SubmitBatch): when an
   * earlier attempt was uncertain and a later one answered, {@code afterUncertain} gets the answer
   * and the earlier error, and returns what the client is told.
   */
  public <S extends AbstractStub<S>, T> CompletableFuture<T> send(Supplier<RingNode> target,
      Function<RingNode, S> stubs, Call<S, T> call, boolean mutation,
      BiFunction<T, StatusRuntimeException, T> afterUncertain) {
    CompletableFuture<T> result = new CompletableFuture<>();
    attempt(Context.current(), target, stubs, call, mutation, afterUncertain, 0, null, result);
    return result;
  }

  private <S extends AbstractStub<S>, T> void attempt(Context context, Supplier<RingNode> target,
      Function<RingNode, S> stubs, Call<S, T> call, boolean mutation,
      BiFunction<T, StatusRuntimeException, T> afterUncertain, int attempt, StatusRuntimeException uncertain,
      CompletableFuture<T> result) {
    RingNode node = target.get();
    once(node, stubs, call).whenComplete((value, error) -> {
      if (error == null) {
        result.complete(uncertain == null ? value : afterUncertain.apply(value, uncertain));
        return;
      }
      StatusRuntimeException answer = Errors.fromNode(error, node.getNodeId());
      StatusRuntimeException stillUncertain = uncertain != null || !mutation || !Errors.isUncertain(answer)
          ? uncertain : answer;
      ErrorReason reason = Errors.reason(error);
      boolean wrongNode = reason == ErrorReason.WRONG_NODE;
      boolean unavailable = Status.fromThrowable(Errors.unwrap(error)).getCode() == Status.Code.UNAVAILABLE;
      Deadline deadline = context.getDeadline();
      boolean time = deadline == null || !deadline.isExpired();
      if (attempt < retriesMax && (wrongNode || unavailable) && !context.isCancelled() && time) {
        if (wrongNode) {
          nodes.ring().refresh();
        } else {
          nodes.resetBackoff(node);
        }
        long delayMs = wrongNode ? 0 : retryBackoffMs << attempt;
        log.debug("retrying a call to {} in {} ms after {}", node.getNodeId(), delayMs, reason);
        timer.schedule(context.wrap(() -> attempt(context, target, stubs, call, mutation, afterUncertain,
            attempt + 1, stillUncertain, result)), delayMs, TimeUnit.MILLISECONDS);
        return;
      }
      result.completeExceptionally(stillUncertain != null && !Errors.settles(answer) ? stillUncertain : answer);
    });
  }

  /** One attempt on one node, with the default deadline if the caller set none. */
  public <S extends AbstractStub<S>, T> CompletableFuture<T> once(RingNode node, Function<RingNode, S> stubs,
      Call<S, T> call) {
    UnaryFuture<T> answer = new UnaryFuture<>();
    S stub = stubs.apply(node);
    if (Context.current().getDeadline() == null) {
      stub = stub.withDeadlineAfter(callTimeoutMsDefault, TimeUnit.MILLISECONDS);
    }
    call.accept(stub, answer);
    return answer;
  }

  /**
   * The same read on every node in parallel, each retried where safe as {@link #send} does (so a
   * node whose connection was failing is reconnected at once); answers in ring order.
   */
  public <S extends AbstractStub<S>, T> CompletableFuture<List<Answer<T>>> everyNode(Function<RingNode, S> stubs,
      Call<S, T> call) {
    List<CompletableFuture<Answer<T>>> answers = new ArrayList<>();
    for (RingNode node : nodes.ring().current().nodes()) {
      answers.add(send(() -> node, stubs, call, false).handle((v, e) -> new Answer<>(node, v, e)));
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
        .thenApply(v -> answers.stream().map(CompletableFuture::join).toList());
  }
}
