package fortress.proxy.api;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.GetRingResponse;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.cluster.v1.ListInDoubtResponse;
import fortress.cluster.v1.NodeVerification;
import fortress.cluster.v1.Placement;
import fortress.cluster.v1.VerifyClusterRequest;
import fortress.cluster.v1.VerifyClusterResponse;
import fortress.core.ring.Ring;
import fortress.ledger.v1.LedgerServiceGrpc.LedgerServiceStub;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import fortress.proxy.route.Errors;
import fortress.proxy.route.Forwarder;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.GetTotalsResponse;
import fortress.shard.v1.NodeTotals;
import fortress.shard.v1.ShardServiceGrpc.ShardServiceStub;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/** {@code fortress.cluster.v1.ClusterService}: the ring, and questions every node answers in parallel. */
public final class ClusterProxy extends ClusterServiceGrpc.ClusterServiceImplBase {
  static final int PLACEMENTS_MAX = 1000;
  static final int IN_DOUBT_PAGE_MAX = 1000;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

  private final Forwarder forwarder;

  public ClusterProxy(Forwarder forwarder) {
    this.forwarder = forwarder;
  }

  @Override
  public void getRing(GetRingRequest r, StreamObserver<GetRingResponse> out) {
    if (r.getAccountIdsCount() > PLACEMENTS_MAX) {
      out.onError(Errors.invalid("account_ids", "must hold at most " + PLACEMENTS_MAX + " ids, not "
          + r.getAccountIdsCount()));
      return;
    }
    if (r.getAccountIdsCount() > 0 && !TENANT.matcher(r.getTenantId()).matches()) {
      out.onError(Errors.invalid("tenant_id", "is required with account_ids: 1-64 of letters, digits and . _ : -"));
      return;
    }
    for (int i = 0; i < r.getAccountIdsCount(); i++) {
      if (!ID.matcher(r.getAccountIds(i)).matches()) {
        out.onError(Errors.invalid("account_ids[" + i + "]", "must be 1-128 of letters, digits and . _ : -"));
        return;
      }
    }
    Ring ring = forwarder.nodes().ring().refresh();
    GetRingResponse.Builder response = GetRingResponse.newBuilder().setRing(ring.spec());
    for (String account : r.getAccountIdsList()) {
      response.addPlacements(Placement.newBuilder().setAccountId(account)
          .setNodeId(ring.owner(r.getTenantId(), account).getNodeId()));
    }
    Replies.reply(CompletableFuture.completedFuture(response.build()), out);
  }

  @Override
  public void getClusterTotals(GetClusterTotalsRequest r, StreamObserver<GetClusterTotalsResponse> out) {
    Replies.reply(totals(), out);
  }

  /** Every node's totals, summed, and whether they are conserved; fails if a node cannot answer. */
  public CompletableFuture<GetClusterTotalsResponse> totals() {
    return forwarder.<ShardServiceStub, GetTotalsResponse>everyNode(forwarder.nodes()::shard,
        (stub, o) -> stub.getTotals(GetTotalsRequest.getDefaultInstance(), o)).thenApply(answers -> {
          GetClusterTotalsResponse.Builder sum = GetClusterTotalsResponse.newBuilder();
          for (Forwarder.Answer<GetTotalsResponse> a : answers) {
            if (a.error() != null) {
              throw Errors.fromNode(a.error(), a.node().getNodeId());
            }
            NodeTotals t = a.value().getTotals();
            sum.addNodes(t)
                .setBalance(sum.getBalance() + t.getBalance())
                .setHeld(sum.getHeld() + t.getHeld())
                .setDeposited(sum.getDeposited() + t.getDeposited())
                .setConsumed(sum.getConsumed() + t.getConsumed())
                .setInFlightCredit(sum.getInFlightCredit() + t.getInFlightCredit())
                .setOverdueCredit(sum.getOverdueCredit() + t.getOverdueCredit());
          }
          // An overdue credit was debited and has not landed: never conserved, whatever the sums say.
          return sum.setConserved(sum.getOverdueCredit() == 0
                  && sum.getBalance() + sum.getInFlightCredit() == sum.getDeposited() - sum.getConsumed())
              .build();
        });
  }

  @Override
  public void verifyCluster(VerifyClusterRequest r, StreamObserver<VerifyClusterResponse> out) {
    Replies.reply(verify(), out);
  }

  /** Every node's journal verification; ok only if every node answered ok. */
  public CompletableFuture<VerifyClusterResponse> verify() {
    return forwarder.<LedgerServiceStub, VerifyJournalResponse>everyNode(forwarder.nodes()::ledger,
        (stub, o) -> stub.verifyJournal(VerifyJournalRequest.getDefaultInstance(), o)).thenApply(answers -> {
          VerifyClusterResponse.Builder all = VerifyClusterResponse.newBuilder().setOk(true);
          for (Forwarder.Answer<VerifyJournalResponse> a : answers) {
            NodeVerification.Builder node = NodeVerification.newBuilder().setNodeId(a.node().getNodeId());
            if (a.error() != null) {
              node.setError(Errors.fromNode(a.error(), a.node().getNodeId()).getStatus().getDescription());
              all.setOk(false);
            } else {
              node.setResult(a.value());
              all.setOk(all.getOk() && a.value().getOk());
            }
            all.addNodes(node);
          }
          return all.build();
        });
  }

  @Override
  public void listInDoubt(ListInDoubtRequest r, StreamObserver<ListInDoubtResponse> out) {
    if (r.getPageSize() < 0) {
      out.onError(Errors.invalid("page_size", "must not be negative"));
      return;
    }
    fortress.shard.v1.ListInDoubtRequest ask = fortress.shard.v1.ListInDoubtRequest.newBuilder()
        .setPageSize(Math.min(r.getPageSize(), IN_DOUBT_PAGE_MAX)).build();
    Replies.reply(forwarder.<ShardServiceStub, fortress.shard.v1.ListInDoubtResponse>everyNode(
        forwarder.nodes()::shard, (stub, o) -> stub.listInDoubt(ask, o)).thenApply(answers -> {
          ListInDoubtResponse.Builder all = ListInDoubtResponse.newBuilder();
          for (Forwarder.Answer<fortress.shard.v1.ListInDoubtResponse> a : answers) {
            if (a.error() != null) {
              all.addUnreachableNodes(a.node().getNodeId() + ": "
                  + Errors.fromNode(a.error(), a.node().getNodeId()).getStatus().getDescription());
            } else {
              all.addAllTransactions(a.value().getTransactionsList())
                  .setTotalCount(all.getTotalCount() + a.value().getTotalCount())
                  .setOverdueCount(all.getOverdueCount() + a.value().getOverdueCount());
            }
          }
          return all.build();
        }), out);
  }
}
