package fortress.ledger.twopc;

import fortress.ledger.Reason;
import fortress.ledger.Rejection;
import fortress.ledger.api.Statuses;
import fortress.ledger.store.LedgerReader;
import fortress.ledger.store.TwoPhaseReader;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.ShardServiceGrpc.ShardServiceStub;
import fortress.shard.v1.TransactionState;
import fortress.core.rpc.UnaryFuture;
import io.grpc.stub.StreamObserver;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import fortress.core.telemetry.Telemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the two-phase commit of transfers whose credited account lives on another node, on the
 * node that owns the debited account (the coordinator), and recovers unfinished transactions in
 * both roles. Every state change goes through the node's single writer, so live traffic and
 * recovery take the same idempotent transitions and the first decision wins. See twopc/README.md.
 */
public final class Coordinator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Coordinator.class);
  private static final int RECOVERY_BATCH_MAX = 1000;
  private static final AttributeKey<String> PHASE = AttributeKey.stringKey("phase");
  private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");

  private final String nodeId;
  private final Writer writer;
  private final Peers peers;
  private final TwoPhaseReader transactions;
  private final LedgerReader ledger;
  private final Failpoints failpoints;
  private final Clock clock;
  private final long prepareTimeoutMs;
  private final long inDoubtTimeoutMs;
  /** Transfers this process is driving, so a retry with the same request_id joins its transaction. */
  private final Map<String, CompletableFuture<Outcome>> live = new ConcurrentHashMap<>();

  private final Tracer tracer;
  private final DoubleHistogram phaseMs;
  /** Unfinished transactions (both roles) and the age of the oldest, as of the last recovery round. */
  private final AtomicLong unfinished = new AtomicLong();
  private final AtomicLong oldestUnfinishedMs = new AtomicLong();

  public Coordinator(String nodeId, Writer writer, Peers peers, TwoPhaseReader transactions, LedgerReader ledger,
      Failpoints failpoints, Clock clock, long prepareTimeoutMs, long inDoubtTimeoutMs, Telemetry telemetry) {
    this.nodeId = nodeId;
    this.writer = writer;
    this.peers = peers;
    this.transactions = transactions;
    this.ledger = ledger;
    this.failpoints = failpoints;
    this.clock = clock;
    this.prepareTimeoutMs = prepareTimeoutMs;
    this.inDoubtTimeoutMs = inDoubtTimeoutMs;
    this.tracer = telemetry.tracer();
    Meter meter = telemetry.meter();
    this.phaseMs = meter.histogramBuilder("fortress.ledger.twopc.phase.duration").setUnit("ms")
        .setDescription("how long each two-phase commit phase took, by phase and outcome").build();
    meter.gaugeBuilder("fortress.ledger.twopc.unfinished").ofLongs()
        .setDescription("two-phase commit transactions not yet finished on this node (either role)")
        .buildWithCallback(m -> m.record(unfinished.get()));
    meter.gaugeBuilder("fortress.ledger.twopc.unfinished.oldest.age").setUnit("s")
        .setDescription("age of the oldest unfinished two-phase commit transaction on this node")
        .buildWithCallback(m -> m.record(oldestUnfinishedMs.get() / 1000.0));
  }

  /**
   * One phase of a transaction: a span under the transfer's trace, current while the phase's call
   * starts (so the trace crosses to the participant), and its latency.
   */
  private final class Phase {
    private final String name;
    private final Span span;
    private final long startNanos = System.nanoTime();

    Phase(String name, String txid, String peer, io.opentelemetry.context.Context parent) {
      this.name = name;
      this.span = tracer.spanBuilder("2pc " + name).setParent(parent).setAttribute("fortress.txid", txid)
          .setAttribute("fortress.peer", peer).startSpan();
    }

    <T> CompletableFuture<T> run(java.util.function.Supplier<CompletableFuture<T>> step) {
      CompletableFuture<T> done;
      try (Scope scope = span.makeCurrent()) {
        done = step.get();
      }
      return done.whenComplete((v, e) -> {
        if (e != null) {
          span.setStatus(StatusCode.ERROR, e.toString());
        }
        span.end();
        phaseMs.record((System.nanoTime() - startNanos) / 1e6,
            Attributes.of(PHASE, name, OUTCOME, e == null ? "ok" : "error"));
      });
    }
  }

  /** Transfers between an account of this node and one of {@code participant}. */
  public CompletableFuture<Outcome> transfer(TransferRequest r, String participant) {
    String txid = "tx-" + UUID.randomUUID();
    io.opentelemetry.context.Context trace = io.opentelemetry.context.Context.current();
    return writer.submit(Op.begin(r, txid, participant)).thenCompose(begun -> {
      if (begun instanceof Outcome.Failed failed) {
        CompletableFuture<Outcome> running = failed.rejection().reason() == Reason.TRANSFER_IN_PROGRESS
            ? live.get(failed.rejection().metadata().get("txid")) : null;
        return running != null ? running : CompletableFuture.completedFuture(begun);
      }
      if (((Outcome.Ok) begun).response() instanceof TransferResponse) {
        return CompletableFuture.completedFuture(begun); // a replay of a finished transfer
      }
      CompletableFuture<Outcome> result = new CompletableFuture<>();
      live.put(txid, result);
      result.whenComplete((o, e) -> live.remove(txid));
      failpoints.hit(Failpoints.COORDINATOR_AFTER_PREPARING);
      PrepareRequest prepare = PrepareRequest.newBuilder()
          .setTxid(txid)
          .setCoordinatorNodeId(nodeId)
          .setTenantId(Op.creditTenant(r))
          .setAccountId(r.getToAccountId())
          .setAmount(r.getAmount())
          .setRequestId(r.getRequestId())
          .setMemo(r.getMemo())
          .build();
      new Phase("prepare", txid, participant, trace).run(() -> this.<PrepareResponse>call(participant,
              (stub, out) -> stub.withDeadlineAfter(prepareTimeoutMs, TimeUnit.MILLISECONDS).prepare(prepare, out)))
          .whenComplete((vote, error) -> afterVote(txid, participant, r, vote, error, result, trace));
      return result;
    });
  }

  private void afterVote(String txid, String participant, TransferRequest r, PrepareResponse vote, Throwable error,
      CompletableFuture<Outcome> result, io.opentelemetry.context.Context trace) {
    if (error == null) {
      failpoints.hit(Failpoints.COORDINATOR_AFTER_VOTE);
    }
    Rejection no = error == null ? null : Statuses.fromException(error).orElse(Rejection.of(Reason.TRANSFER_ABORTED,
        "the transfer was aborted because node " + participant + " did not vote in time; nothing was moved",
        "txid", txid));
    if (no != null) {
      log.debug("transaction {}: {} voted no: {}", txid, participant, no.message());
    }
    Account yes = vote == null ? null : vote.getAccount();
    new Phase("decide", txid, participant, trace).run(() -> writer.submit(Op.decide(txid, yes)))
        .whenComplete((decided, e) -> {
      Outcome outcome = e != null ? uncertain(txid) : decided;
      if (outcome instanceof Outcome.Ok ok && ok.response() instanceof TransferResponse) {
        failpoints.hit(Failpoints.COORDINATOR_AFTER_DECISION);
        result.complete(outcome);
        sendCommit(txid, participant, trace);
      } else if (outcome instanceof Outcome.Ok) {
        result.complete(Outcome.failed(no != null ? no : aborted(txid)));
        sendAbort(txid, participant);
      } else {
        Rejection why = ((Outcome.Failed) outcome).rejection();
        if (why.reason() == Reason.TRANSACTION_DECIDED) {
          // Recovery decided first; report what it decided.
          result.complete(committed(why) ? recorded(r, txid) : Outcome.failed(no != null ? no : aborted(txid)));
        } else {
          result.complete(outcome); // uncertain; recovery finishes the transaction
        }
      }
    });
  }

  private static Rejection aborted(String txid) {
    return Rejection.of(Reason.TRANSFER_ABORTED, "the transfer was aborted; nothing was moved", "txid", txid);
  }

  private static boolean committed(Rejection decided) {
    return "COMMITTED".equals(decided.metadata().get("decision"));
  }

  /** The response the decision recorded for a transfer committed by recovery. */
  private Outcome recorded(TransferRequest r, String txid) {
    try {
      Optional<fortress.ledger.v1.Operation> op = ledger.operation(r.getTenantId(), r.getRequestId());
      if (op.isPresent() && op.get().hasTransfer()) {
        return Outcome.ok(op.get().getTransfer());
      }
    } catch (SQLException e) {
      log.warn("transaction {}: cannot read its recorded response: {}", txid, e.toString());
    }
    return uncertain(txid);
  }

  private static Outcome uncertain(String txid) {
    return Outcome.failed(Rejection.of(Reason.STORAGE_UNAVAILABLE,
        "the outcome of transaction " + txid + " is uncertain; resolve it with GetOperation", "txid", txid));
  }

  private CompletableFuture<Void> sendCommit(String txid, String participant, io.opentelemetry.context.Context trace) {
    CommitRequest commit = CommitRequest.newBuilder().setTxid(txid).build();
    return new Phase("commit", txid, participant, trace).run(() -> this.<CommitResponse>call(participant,
            (stub, out) -> stub.withDeadlineAfter(prepareTimeoutMs, TimeUnit.MILLISECONDS).commit(commit, out)))
        .thenCompose(ack -> writer.submit(Op.finish(txid)))
        .handle((done, e) -> {
          if (e != null) {
            log.debug("transaction {}: commit not acknowledged by {} yet: {}", txid, participant, e.toString());
          }
          return null;
        });
  }

  private CompletableFuture<Void> sendAbort(String txid, String participant) {
    AbortRequest abort = AbortRequest.newBuilder().setTxid(txid).build();
    return this.<AbortResponse>call(participant, (stub, out) -> stub
            .withDeadlineAfter(prepareTimeoutMs, TimeUnit.MILLISECONDS).abort(abort, out))
        .handle((ack, e) -> null); // best effort: a participant in doubt asks GetDecision
  }

  /**
   * One recovery round. As coordinator: abort PREPARING transactions older than the prepare
   * timeout (any at start-up, when nothing can be driving them), and re-send Commit for COMMITTED
   * ones not acknowledged. As participant: ask the coordinator for the decision on legs PREPARED
   * longer than the in-doubt timeout (any at start-up). Waits for the round's calls, up to a bound.
   */
  public void recover(boolean startup) {
    List<CompletableFuture<?>> pending = new ArrayList<>();
    long now = clock.millis();
    peers.resetBackoff();
    try {
      List<TwoPhaseReader.Unfinished> open = transactions.unfinished(RECOVERY_BATCH_MAX);
      List<TwoPhaseReader.Prepared> legs = transactions.prepared(RECOVERY_BATCH_MAX);
      long oldestMicros = Long.MAX_VALUE;
      for (TwoPhaseReader.Unfinished u : open) {
        oldestMicros = Math.min(oldestMicros, u.createdMicros());
      }
      for (TwoPhaseReader.Prepared p : legs) {
        oldestMicros = Math.min(oldestMicros, p.createdMicros());
      }
      unfinished.set(open.size() + legs.size());
      oldestUnfinishedMs.set(oldestMicros == Long.MAX_VALUE ? 0 : Math.max(0, now - oldestMicros / 1000));
      for (TwoPhaseReader.Unfinished u : open) {
        if (u.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
          long ageMs = now - u.createdMicros() / 1000;
          boolean stale = live.containsKey(u.txid()) ? ageMs > 3 * prepareTimeoutMs : ageMs > prepareTimeoutMs;
          if (startup || stale) {
            log.info("transaction {}: no decision after {} ms; aborting (presumed abort)", u.txid(), ageMs);
            pending.add(writer.submit(Op.decide(u.txid(), null)).thenCompose(o -> sendAbort(u.txid(), u.participant())));
          }
        } else if (startup || now - u.decidedMicros() / 1000 > prepareTimeoutMs) {
          pending.add(sendCommit(u.txid(), u.participant(), io.opentelemetry.context.Context.root()));
        }
      }
      for (TwoPhaseReader.Prepared p : legs) {
        if (startup || now - p.createdMicros() / 1000 > inDoubtTimeoutMs) {
          pending.add(askDecision(p));
        }
      }
    } catch (SQLException e) {
      log.warn("two-phase commit recovery could not read its tables: {}", e.toString());
    }
    try {
      CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(2 * prepareTimeoutMs + 1000,
          TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("two-phase commit recovery round still running after {} ms", 2 * prepareTimeoutMs + 1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.debug("two-phase commit recovery round: {}", e.toString());
    }
  }

  private CompletableFuture<Void> askDecision(TwoPhaseReader.Prepared p) {
    GetDecisionRequest ask = GetDecisionRequest.newBuilder().setTxid(p.txid()).build();
    return this.<GetDecisionResponse>call(p.coordinator(), (stub, out) -> stub
            .withDeadlineAfter(prepareTimeoutMs, TimeUnit.MILLISECONDS).getDecision(ask, out))
        .thenCompose(answer -> {
          Decision d = answer.getDecision();
          if (d == Decision.DECISION_PENDING) {
            return CompletableFuture.completedFuture(null);
          }
          boolean commit = d == Decision.DECISION_COMMITTED;
          log.info("transaction {}: coordinator {} says {}; applying it", p.txid(), p.coordinator(), d);
          return writer.submit(Op.resolveLeg(p.txid(), commit)).thenApply(o -> null);
        })
        .handle((v, e) -> {
          if (e != null) {
            log.debug("transaction {}: cannot ask {} for the decision yet: {}", p.txid(), p.coordinator(), e.toString());
          }
          return null;
        });
  }

  /** Starts a unary call on a peer's ShardService; fails if the ring does not know the peer. */
  private <T> CompletableFuture<T> call(String peer, java.util.function.BiConsumer<ShardServiceStub,
      StreamObserver<T>> start) {
    UnaryFuture<T> result = new UnaryFuture<>();
    Optional<ShardServiceStub> stub = peers.shard(peer);
    if (stub.isEmpty()) {
      result.completeExceptionally(new IllegalStateException("node " + peer + " is not on the ring"));
      return result;
    }
    start.accept(stub.get(), result);
    return result;
  }

  /** Transfers this process is driving now. */
  public int liveCount() {
    return live.size();
  }

  @Override
  public void close() {
    live.values().forEach(f -> f.complete(Outcome.failed(Rejection.of(Reason.SHUTTING_DOWN,
        "the ledger node is shutting down; the transfer's outcome is uncertain, resolve it with GetOperation"))));
  }
}
