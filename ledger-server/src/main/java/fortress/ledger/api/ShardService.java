package fortress.ledger.api;

import fortress.ledger.Ownership;
import fortress.ledger.Rejection;
import fortress.ledger.store.TwoPhaseReader;
import fortress.ledger.twopc.Failpoints;
import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
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
import java.util.concurrent.Executor;

/**
 * The node's side of the two-phase commit as participant, GetDecision as coordinator, and the
 * per-node queries the proxy fans out. Every step goes through the writer, so it is serialized
 * with everything else this node does, and is idempotent by txid.
 */
public final class ShardService extends ShardServiceGrpc.ShardServiceImplBase {
  static final int IN_DOUBT_PAGE_DEFAULT = 100;
  static final int IN_DOUBT_PAGE_MAX = 1000;

  private final Writer writer;
  private final TwoPhaseReader transactions;
  private final Ownership ownership;
  private final Failpoints failpoints;
  private final Checks checks;
  private final Executor responses;

  public ShardService(Writer writer, TwoPhaseReader transactions, Ownership ownership, Failpoints failpoints,
      long holdTimeoutSecondsMax, Executor responses) {
    this.writer = writer;
    this.transactions = transactions;
    this.ownership = ownership;
    this.failpoints = failpoints;
    this.checks = new Checks(holdTimeoutSecondsMax);
    this.responses = responses;
  }

  @Override
  public void prepare(PrepareRequest r, StreamObserver<PrepareResponse> out) {
    Rejection refused = checks.prepare(r);
    if (refused == null) {
      refused = ownership.refuse(r.getTenantId(), r.getAccountId());
    }
    if (refused != null) {
      Replies.fail(out, refused);
      return;
    }
    writer.submit(Op.prepareLeg(r)).whenCompleteAsync((outcome, error) -> {
      if (error == null && outcome instanceof Outcome.Ok) {
        failpoints.hit(Failpoints.PARTICIPANT_AFTER_PREPARE);
      }
      Replies.reply(error != null ? Replies.uncertain() : outcome, out);
    }, responses);
  }

  @Override
  public void commit(CommitRequest r, StreamObserver<CommitResponse> out) {
    resolve(r.getTxid(), true, out);
  }

  @Override
  public void abort(AbortRequest r, StreamObserver<AbortResponse> out) {
    resolve(r.getTxid(), false, out);
  }

  private <T> void resolve(String txid, boolean commit, StreamObserver<T> out) {
    Rejection invalid = checks.txid(txid);
    if (invalid != null) {
      Replies.fail(out, invalid);
      return;
    }
    writer.submit(Op.resolveLeg(txid, commit)).whenCompleteAsync(
        (outcome, error) -> Replies.reply(error != null ? Replies.uncertain() : outcome, out), responses);
  }

  @Override
  public void getDecision(GetDecisionRequest r, StreamObserver<GetDecisionResponse> out) {
    Replies.read(out, checks.txid(r.getTxid()),
        () -> GetDecisionResponse.newBuilder().setDecision(transactions.decision(r.getTxid())).build());
  }

  @Override
  public void listInDoubt(ListInDoubtRequest r, StreamObserver<ListInDoubtResponse> out) {
    Rejection invalid = r.getPageSize() < 0 ? Rejection.invalid("page_size", "must not be negative") : null;
    int limit = r.getPageSize() == 0 ? IN_DOUBT_PAGE_DEFAULT : Math.min(r.getPageSize(), IN_DOUBT_PAGE_MAX);
    Replies.read(out, invalid, () -> transactions.inDoubt(ownership.nodeId(), limit));
  }

  @Override
  public void getTotals(GetTotalsRequest r, StreamObserver<GetTotalsResponse> out) {
    Replies.read(out, null,
        () -> GetTotalsResponse.newBuilder().setTotals(transactions.totals(ownership.nodeId())).build());
  }
}
