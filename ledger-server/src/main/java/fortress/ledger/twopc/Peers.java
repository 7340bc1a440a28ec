package fortress.ledger.twopc;

import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import java.util.concurrent.CompletableFuture;

/**
 * The other ledger nodes, as two-phase commit talks to them. Every call carries a timeout; a
 * failed call completes exceptionally with the peer's status (its ErrorInfo names a refusal) or a
 * transport status (UNAVAILABLE, DEADLINE_EXCEEDED) when the message or its answer was lost.
 * {@link GrpcPeers} is the real network; the simulator has its own.
 */
public interface Peers {
  CompletableFuture<PrepareResponse> prepare(String node, PrepareRequest r, long timeoutMs);

  CompletableFuture<CommitResponse> commit(String node, CommitRequest r, long timeoutMs);

  CompletableFuture<AbortResponse> abort(String node, AbortRequest r, long timeoutMs);

  CompletableFuture<GetDecisionResponse> getDecision(String node, GetDecisionRequest r, long timeoutMs);

  /** Lets every connection to a peer retry at once (recovery calls it before each round). */
  void resetBackoff();
}
