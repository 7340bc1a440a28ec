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
import fortress.shard.v1.CommitLegResult;
import fortress.shard.v1.CommitLegsRequest;
import fortress.shard.v1.CommitLegsResponse;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.GetTotalsResponse;
import fortress.shard.v1.ListInDoubtRequest;
import fortress.shard.v1.ListInDoubtResponse;
import fortress.shard.v1.PrepareLegResult;
import fortress.shard.v1.PrepareLegsRequest;
import fortress.shard.v1.PrepareLegsResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
  /** The most legs one PrepareLegs or CommitLegs call may carry. */
  static final int LEGS_MAX = 256;

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
    Rejection refused = refusePrepare(r, callingNode());
    if (refused != null) {
      Replies.fail(out, refused);
      return;
    }
    answer(participant.prepare(r), out);
  }

  /** Why a leg may not be prepared for {@code caller} (null: not checked), or null if it may. */
  private Rejection refusePrepare(PrepareRequest r, String caller) {
    Rejection refused = caller == null || caller.equals(r.getCoordinatorNodeId()) ? null
        : new Rejection(ErrorReason.NOT_COORDINATOR, "coordinator_node_id: must be the calling node, " + caller
            + "; a node prepares legs only of transactions it coordinates", Map.of("field", "coordinator_node_id"));
    if (refused == null) {
      refused = checks.prepare(r);
    }
    if (refused == null) {
      refused = ownership.refuse(r.getTenantId(), r.getAccountId());
    }
    return refused;
  }

  /**
   * Prepare for each leg, checked leg by leg as Prepare checks one (the calling node must be each
   * leg's coordinator); the legs that pass go to the writer together. One result per leg.
   */
  @Override
  public void prepareLegs(PrepareLegsRequest r, StreamObserver<PrepareLegsResponse> out) {
    Rejection invalid = legsCount(r.getLegsCount());
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    String caller = callingNode();
    List<Rejection> refused = r.getLegsList().stream().map(leg -> refusePrepare(leg, caller)).toList();
    List<PrepareRequest> passed = new ArrayList<>();
    for (int i = 0; i < r.getLegsCount(); i++) {
      if (refused.get(i) == null) {
        passed.add(r.getLegs(i));
      }
    }
    participant.prepareAll(passed).whenCompleteAsync((outcomes, error) -> {
      PrepareLegsResponse.Builder response = PrepareLegsResponse.newBuilder();
      Iterator<Outcome> answered = outcomes == null ? null : outcomes.iterator();
      for (Rejection no : refused) {
        Outcome o = no != null ? Outcome.failed(no) : answered == null ? Replies.uncertain() : answered.next();
        response.addResults(o instanceof Outcome.Ok ok
            ? PrepareLegResult.newBuilder().setVote((PrepareResponse) ok.response())
            : PrepareLegResult.newBuilder().setError(status(((Outcome.Failed) o).rejection())));
      }
      Replies.send(out, response.build());
    }, responses);
  }

  /**
   * Commit for each transaction, checked as Commit checks one (only the leg's coordinator may
   * commit it), applied by the writer together. One result per transaction.
   */
  @Override
  public void commitLegs(CommitLegsRequest r, StreamObserver<CommitLegsResponse> out) {
    Rejection invalid = legsCount(r.getLegsCount());
    for (int i = 0; invalid == null && i < r.getLegsCount(); i++) {
      invalid = checks.txid(r.getLegs(i).getTxid());
    }
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    List<String> txids = r.getLegsList().stream().map(CommitRequest::getTxid).toList();
    participant.commitAll(txids, callingNode()).whenCompleteAsync((outcomes, error) -> {
      CommitLegsResponse.Builder response = CommitLegsResponse.newBuilder();
      for (int i = 0; i < txids.size(); i++) {
        Outcome o = outcomes == null ? Replies.uncertain() : outcomes.get(i);
        response.addResults(o instanceof Outcome.Ok ok
            ? CommitLegResult.newBuilder().setApplied((CommitResponse) ok.response())
            : CommitLegResult.newBuilder().setError(status(((Outcome.Failed) o).rejection())));
      }
      Replies.send(out, response.build());
    }, responses);
  }

  private static Rejection legsCount(int count) {
    return count >= 1 && count <= LEGS_MAX ? null
        : Rejection.invalid("legs", "must hold between 1 and " + LEGS_MAX + " legs, not " + count);
  }

  /** A refusal as the status (code and ErrorInfo) a single-leg call would have failed with. */
  private static com.google.rpc.Status status(Rejection r) {
    return StatusProto.fromThrowable(Statuses.toException(r));
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
    Replies.read(out, null, () -> {
      Set<String> acknowledged = coordinator.acknowledged(); // before the snapshot: see totals()
      return GetTotalsResponse.newBuilder()
          .setTotals(transactions.totals(ownership.nodeId(), overdueBeforeMicros(), acknowledged)).build();
    });
  }

  /** Committed credits decided before this are overdue. */
  private long overdueBeforeMicros() {
    return (clock.millis() - inFlightBoundMs) * 1000;
  }
}
