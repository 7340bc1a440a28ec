package fortress.ledger.sim;

import fortress.ledger.api.ShardService;
import fortress.ledger.twopc.Peers;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitLegResult;
import fortress.shard.v1.CommitLegsRequest;
import fortress.shard.v1.CommitLegsResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareLegResult;
import fortress.shard.v1.PrepareLegsRequest;
import fortress.shard.v1.PrepareLegsResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One node incarnation's view of the other nodes: each call is a message that the simulation may
 * lose, delay (past every timeout), duplicate or reorder, delivered to the target node's real
 * ShardService; the answer travels back the same way. The caller's deadline fails the call with
 * DEADLINE_EXCEEDED, as gRPC would. A node that is down or still starting answers nothing.
 */
final class SimNetwork implements Peers {
  private final Simulation sim;
  private final SimNode.Incarnation caller;

  SimNetwork(Simulation sim, SimNode.Incarnation caller) {
    this.sim = sim;
    this.caller = caller;
  }

  /** Prepare, or (as often) PrepareLegs carrying it, as a node that batches would send it. */
  @Override
  public CompletableFuture<PrepareResponse> prepare(String node, PrepareRequest r, long timeoutMs) {
    if (!sim.batchLegs()) {
      return call(node, timeoutMs, (shard, out) -> shard.prepare(r, out));
    }
    return this.<PrepareLegsResponse>call(node, timeoutMs,
            (shard, out) -> shard.prepareLegs(PrepareLegsRequest.newBuilder().addLegs(r).build(), out))
        .thenCompose(answer -> {
          PrepareLegResult one = answer.getResults(0);
          return one.hasVote() ? CompletableFuture.completedFuture(one.getVote())
              : CompletableFuture.failedFuture(StatusProto.toStatusRuntimeException(one.getError()));
        });
  }

  /** Commit, or (as often) CommitLegs carrying it. */
  @Override
  public CompletableFuture<CommitResponse> commit(String node, CommitRequest r, long timeoutMs) {
    if (!sim.batchLegs()) {
      return call(node, timeoutMs, (shard, out) -> shard.commit(r, out));
    }
    return this.<CommitLegsResponse>call(node, timeoutMs,
            (shard, out) -> shard.commitLegs(CommitLegsRequest.newBuilder().addLegs(r).build(), out))
        .thenCompose(answer -> {
          CommitLegResult one = answer.getResults(0);
          return one.hasApplied() ? CompletableFuture.completedFuture(one.getApplied())
              : CompletableFuture.failedFuture(StatusProto.toStatusRuntimeException(one.getError()));
        });
  }

  @Override
  public CompletableFuture<AbortResponse> abort(String node, AbortRequest r, long timeoutMs) {
    return call(node, timeoutMs, (shard, out) -> shard.abort(r, out));
  }

  @Override
  public CompletableFuture<GetDecisionResponse> getDecision(String node, GetDecisionRequest r, long timeoutMs) {
    return call(node, timeoutMs, (shard, out) -> shard.getDecision(r, out));
  }

  @Override
  public void resetBackoff() {}

  private <T> CompletableFuture<T> call(String node, long timeoutMs, BiConsumer<ShardService, StreamObserver<T>> send) {
    CompletableFuture<T> result = new CompletableFuture<>();
    SimNode target = sim.node(node);
    sim.scheduler.after(timeoutMs * 1000, () -> answer(() -> result.completeExceptionally(
        Status.DEADLINE_EXCEEDED.withDescription("simulated deadline").asRuntimeException())));
    if (target == null || sim.lose()) {
      return result;
    }
    int copies = sim.duplicate() ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      sim.scheduler.after(sim.messageDelayMicros(), () -> {
        SimNode.Incarnation there = target.current;
        if (there == null || !there.serving) {
          return;
        }
        send.accept(there.shard, new StreamObserver<>() {
          private T value;

          @Override
          public void onNext(T v) {
            value = v;
          }

          @Override
          public void onError(Throwable t) {
            reply(() -> result.completeExceptionally(t));
          }

          @Override
          public void onCompleted() {
            T v = value;
            reply(() -> result.complete(v));
          }
        });
      });
    }
    return result;
  }

  /** An answer on its way back: it may be lost or late, and is dropped if the caller died meanwhile. */
  private void reply(Runnable complete) {
    if (sim.lose()) {
      return;
    }
    sim.scheduler.after(sim.messageDelayMicros(), () -> answer(complete));
  }

  private void answer(Runnable complete) {
    if (caller.alive) {
      complete.run();
    }
  }
}
