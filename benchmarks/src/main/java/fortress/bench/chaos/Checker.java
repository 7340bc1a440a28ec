package fortress.bench.chaos;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.cluster.v1.ListInDoubtResponse;
import fortress.shard.v1.InDoubtTransaction;
import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;
import fortress.cluster.v1.VerifyClusterRequest;
import fortress.cluster.v1.VerifyClusterResponse;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.Operation;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Checks the history against the cluster once every fault has ended and recovery has had its
 * time: nothing in doubt (a committed credit still in flight is a lost credit:
 * credit-never-landed), no credit overdue; each uncertain operation resolved through GetOperation; every
 * acknowledged operation present with the response the client saw and every definitely failed
 * one absent; each hold captured or released at most once, and every hold resolved (nothing held
 * once the longest timeout has passed); each account's balance exactly what the operations that
 * took effect make it; the cluster's totals conserved and equal to the deposits, consumes and
 * captures that took effect; and every journal verified.
 */
final class Checker {
  /** How long recovery has to finish every transaction after the faults end. */
  static final long RECOVERY_TIMEOUT_MS = 60_000;
  private static final int LOOKUP_THREADS = 8;
  /** The sweeper runs every second by default; three leave room for a loaded machine. */
  private static final long HOLD_SWEEP_MARGIN_MS = 3_000;

  private final LedgerServiceGrpc.LedgerServiceBlockingStub ledger;
  private final ClusterServiceGrpc.ClusterServiceBlockingStub cluster;
  private final History history;
  private final Client.Anomalies anomalies;
  private final long recoveryTimeoutMs;

  /** What the run came to: operations by outcome, uncertain ones by resolution. */
  record Counts(long ok, long failed, long uncertain, long uncertainApplied, long uncertainAbsent) {}

  Checker(LedgerServiceGrpc.LedgerServiceBlockingStub ledger, ClusterServiceGrpc.ClusterServiceBlockingStub cluster,
      History history, Client.Anomalies anomalies, long recoveryTimeoutMs) {
    this.recoveryTimeoutMs = recoveryTimeoutMs;
    this.ledger = ledger;
    this.cluster = cluster;
    this.history = history;
    this.anomalies = anomalies;
  }

  Counts check(Map<String, Long> initialBalances) throws Exception {
    awaitNothingInDoubt();
    List<History.Op> ops = history.ops();
    Map<String, Optional<Operation>> recorded = lookUp(ops);
    awaitHoldsExpired(recorded);
    long ok = 0;
    long failed = 0;
    long uncertain = 0;
    long applied = 0;
    Map<String, Long> expected = new HashMap<>(initialBalances);
    Map<String, Integer> resolutions = new HashMap<>();
    long deposited = 0;
    long consumed = 0;
    for (History.Op op : ops) {
      Optional<Operation> found = recorded.get(op.requestId());
      boolean tookEffect = found.isPresent();
      switch (op.outcome()) {
        case OK -> {
          ok++;
          if (!tookEffect) {
            anomalies.add("acknowledged-missing", op.requestId());
          } else if (!Client.summary(response(found.get())).equals(op.response())) {
            anomalies.add("acknowledged-differs", op.requestId() + ": client saw " + op.response() + ", recorded "
                + Client.summary(response(found.get())));
          }
        }
        case FAIL -> {
          failed++;
          if (tookEffect) {
            anomalies.add("failed-present", op.requestId() + " (" + op.status() + ")");
          }
        }
        case UNCERTAIN -> {
          uncertain++;
          if (tookEffect) {
            applied++;
          }
          history.note("resolved", Map.of("request_id", op.requestId(), "took_effect", tookEffect));
        }
      }
      if (tookEffect) {
        if (!op.from().isEmpty()) {
          expected.merge(op.from(), -op.amount(), Long::sum);
        }
        if (!op.to().isEmpty()) {
          expected.merge(op.to(), op.amount(), Long::sum);
        }
        switch (op.kind()) {
          case DEPOSIT -> deposited += op.amount();
          case CONSUME, CAPTURE -> consumed += op.amount();
          default -> { }
        }
        if (op.kind() == History.Kind.CAPTURE || op.kind() == History.Kind.RELEASE) {
          if (resolutions.merge(op.hold(), 1, Integer::sum) == 2) {
            anomalies.add("hold-resolved-twice", op.hold() + " (" + op.requestId() + ")");
          }
        }
      }
    }
    for (Map.Entry<String, Long> e : expected.entrySet()) {
      Account a = ledger.getAccount(GetAccountRequest.newBuilder().setTenantId(Bank.TENANT).setAccountId(e.getKey())
          .build()).getAccount();
      if (a.getBalance() != e.getValue() || a.getHeld() != 0) {
        anomalies.add("balance-differs", e.getKey() + ": expected " + e.getValue() + ", found " + a.getBalance()
            + " (held " + a.getHeld() + ")");
      }
    }
    long initial = initialBalances.values().stream().mapToLong(Long::longValue).sum();
    GetClusterTotalsResponse totals = cluster.getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
    if (totals.getOverdueCredit() != 0) {
      anomalies.add("credit-overdue", totals.getOverdueCredit() + " credit committed and not applied within the "
          + "nodes' in-flight bound");
    }
    if (!totals.getConserved() || totals.getInFlightCredit() != 0 || totals.getDeposited() != initial + deposited
        || totals.getConsumed() != consumed || totals.getBalance() != initial + deposited - consumed) {
      anomalies.add("conservation", "totals " + totals.getBalance() + " balance, " + totals.getInFlightCredit()
          + " in flight, " + totals.getDeposited() + " deposited, " + totals.getConsumed() + " consumed; the "
          + "history says " + (initial + deposited) + " deposited and " + consumed + " consumed");
    }
    VerifyClusterResponse verified = cluster.verifyCluster(VerifyClusterRequest.getDefaultInstance());
    if (!verified.getOk()) {
      anomalies.add("journal", verified.toString());
    }
    return new Counts(ok, failed, uncertain, applied, uncertain - applied);
  }

  private void awaitNothingInDoubt() throws InterruptedException {
    long deadline = System.currentTimeMillis() + recoveryTimeoutMs;
    while (true) {
      try {
        ListInDoubtResponse left = cluster.listInDoubt(ListInDoubtRequest.newBuilder().setPageSize(1000).build());
        int inDoubt = left.getTransactionsCount();
        if (inDoubt == 0) {
          return;
        }
        if (System.currentTimeMillis() > deadline) {
          anomalies.add("in-doubt-after-recovery", inDoubt + " transaction(s) still in doubt after "
              + recoveryTimeoutMs + " ms");
          // A committed credit still in flight after recovery is a lost credit, not a conserved one.
          for (InDoubtTransaction t : left.getTransactionsList()) {
            if (t.getRole() == Role.ROLE_COORDINATOR && t.getState() == TransactionState.TRANSACTION_STATE_COMMITTED) {
              anomalies.add("credit-never-landed", t.getTxid() + ": " + t.getAmount() + " debited from "
                  + t.getAccountId() + " on " + t.getNodeId() + ", not credited on " + t.getPeerNodeId());
            }
          }
          return;
        }
      } catch (StatusRuntimeException e) {
        if (System.currentTimeMillis() > deadline) {
          anomalies.add("cluster-unreachable", e.getStatus().toString());
          return;
        }
      }
      Thread.sleep(200);
    }
  }

  /**
   * Waits until every hold the nodes recorded has passed its expiry and been swept. The expiry the
   * node gave the hold bounds the wait, not the client's call: a call that timed out can still
   * create its hold later (a paused node applies it when it resumes), and expire it later too.
   */
  private static void awaitHoldsExpired(Map<String, Optional<Operation>> recorded) throws InterruptedException {
    long latest = recorded.values().stream().flatMap(Optional::stream)
        .filter(o -> o.getResponseCase() == Operation.ResponseCase.CREATE_HOLD)
        .map(o -> o.getCreateHold().getHold().getExpireTime())
        .mapToLong(t -> t.getSeconds() * 1000 + t.getNanos() / 1_000_000).max().orElse(0);
    long wait = latest + HOLD_SWEEP_MARGIN_MS - System.currentTimeMillis();
    if (wait > 0) {
      Thread.sleep(wait);
    }
  }

  /** Every operation's record, if it has one, looked up on a few threads. */
  private Map<String, Optional<Operation>> lookUp(List<History.Op> ops) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(LOOKUP_THREADS);
    try {
      List<Future<Optional<Operation>>> futures = new ArrayList<>();
      for (History.Op op : ops) {
        futures.add(pool.submit(() -> operation(op)));
      }
      Map<String, Optional<Operation>> out = new HashMap<>();
      for (int i = 0; i < ops.size(); i++) {
        out.put(ops.get(i).requestId(), futures.get(i).get());
      }
      return out;
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  private Optional<Operation> operation(History.Op op) throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try {
        return Optional.of(ledger.withDeadlineAfter(10, TimeUnit.SECONDS).getOperation(op.lookup(Bank.TENANT))
            .getOperation());
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
          return Optional.empty();
        }
        if (attempt >= 10) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  private static com.google.protobuf.Message response(Operation op) {
    return switch (op.getResponseCase()) {
      case DEPOSIT -> op.getDeposit();
      case CONSUME -> op.getConsume();
      case TRANSFER -> op.getTransfer();
      case CREATE_HOLD -> op.getCreateHold();
      case CAPTURE_HOLD -> op.getCaptureHold();
      case RELEASE_HOLD -> op.getReleaseHold();
      default -> op;
    };
  }
}
