package fortress.ledger.api;

import fortress.core.security.Caller;
import fortress.ledger.Ownership;
import fortress.ledger.Rejection;
import fortress.ledger.store.TwoPhaseReader;
import fortress.ledger.twopc.Coordinator;
import fortress.ledger.twopc.Participant;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.write.Outcome;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.GetTotalsResponse;
import fortress.shard.v1.ListInDoubtRequest;
import fortress.shard.v1.ListInDoubtResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The gRPC face of two-phase commit between nodes (the participant's Prepare, Commit and Abort,
 * the coordinator's GetDecision, which may record a presumed abort; see twopc/) and the per-node
 * queries the proxy fans out. It checks and translates; the protocol is in {@link Participant} and
 * {@link Coordinator}.
 */
public final class ShardService extends ShardServiceGrpc.ShardServiceImplBase {
  static final int IN_DOUBT_PAGE_DEFAULT = 100;
  static final int IN_DOUBT_PAGE_MAX = 1000;

  private final Participant participant;
  private final Coordinator coordinator;
  private final TwoPhaseReader transactions;
  private final Ownership ownership;
  private final Checks checks;
  private final Executor responses;
  private final Clock clock;
  private final long inFlightBoundMs;

  public ShardService(Participant participant, Coordinator coordinator, TwoPhaseReader transactions,
      Ownership ownership, long holdTimeoutSecondsMax, Executor responses, Clock clock, long inFlightBoundMs) {
    this.participant = participant;
    this.coordinator = coordinator;
    this.transactions = transactions;
    this.ownership = ownership;
    this.checks = new Checks(holdTimeoutSecondsMax);
    this.responses = responses;
    this.clock = clock;
    this.inFlightBoundMs = inFlightBoundMs;
  }

  /**
   * The calling node, as the guard identified it; null when member identities are not checked
   * (no mTLS and no member tokens: a local cluster), or the call did not come over gRPC.
   */
  private static String callingNode() {
    return Caller.current().filter(Caller::member).map(Caller::subject).orElse(null);
  }

  /**
   * A leg is prepared only by the coordinator it names: the caller must be that node, so no member
   * can open a leg in another node's name (and then commit it).
   */
  @Override
  public void prepare(PrepareRequest r, StreamObserver<PrepareResponse> out) {
    String caller = callingNode();
    Rejection refused = caller == null || caller.equals(r.getCoordinatorNodeId()) ? null
        : new Rejection(ErrorReason.NOT_COORDINATOR, "coordinator_node_id: must be the calling node, " + caller
            + "; a node prepares legs only of transactions it coordinates", Map.of("field", "coordinator_node_id"));
    if (refused == null) {
      refused = checks.prepare(r);
    }
    if (refused == null) {
      refused = ownership.refuse(r.getTenantId(), r.getAccountId());
    }
    if (refused != null) {
      Replies.fail(out, refused);
      return;
    }
    answer(participant.prepare(r), out);
  }

  @Override
  public void commit(CommitRequest r, StreamObserver<CommitResponse> out) {
    Rejection invalid = checks.txid(r.getTxid());
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    answer(participant.commit(r.getTxid(), callingNode()), out);
  }

  @Override
  public void abort(AbortRequest r, StreamObserver<AbortResponse> out) {
    Rejection invalid = checks.txid(r.getTxid());
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    answer(participant.abort(r.getTxid(), callingNode()), out);
  }

  private <T> void answer(CompletableFuture<Outcome> outcome, StreamObserver<T> out) {
    outcome.whenCompleteAsync((o, error) -> Replies.reply(error != null ? Replies.uncertain() : o, out), responses);
  }

  @Override
  public void getDecision(GetDecisionRequest r, StreamObserver<GetDecisionResponse> out) {
    Rejection invalid = checks.txid(r.getTxid());
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    coordinator.decision(r, callingNode()).whenCompleteAsync((o, e) -> {
      if (e != null) {
        Replies.fail(out, Rejection.of(ErrorReason.STORAGE_UNAVAILABLE, "the ledger database is unavailable; retry"));
      } else {
        Replies.reply(o, out);
      }
    }, responses);
  }

  @Override
  public void listInDoubt(ListInDoubtRequest r, StreamObserver<ListInDoubtResponse> out) {
    Rejection invalid = r.getPageSize() < 0 ? Rejection.invalid("page_size", "must not be negative") : null;
    int limit = r.getPageSize() == 0 ? IN_DOUBT_PAGE_DEFAULT : Math.min(r.getPageSize(), IN_DOUBT_PAGE_MAX);
    Replies.read(out, invalid, () -> transactions.inDoubt(ownership.nodeId(), limit, overdueBeforeMicros()));
  }

  @Override
  public void getTotals(GetTotalsRequest r, StreamObserver<GetTotalsResponse> out) {
    Replies.read(out, null, () -> GetTotalsResponse.newBuilder()
        .setTotals(transactions.totals(ownership.nodeId(), overdueBeforeMicros())).build());
  }

  /** Committed credits decided before this are overdue. */
  private long overdueBeforeMicros() {
    return (clock.millis() - inFlightBoundMs) * 1000;
  }
}
