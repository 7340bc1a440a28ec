package fortress.ledger.twopc;

import fortress.core.telemetry.Telemetry;
import fortress.ledger.Rejection;
import fortress.ledger.api.Statuses;
import fortress.ledger.store.Lookup;
import fortress.ledger.store.Pending;
import fortress.ledger.store.Reads;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's live path of a transfer whose credited account lives on another node (the
 * participant), run by the node that owns the debited account. The steps, as in README.md:
 * <ol>
 *   <li>hold the debit and record PREPARING ({@link Steps#begin});
 *   <li>send Prepare; the participant records its leg and votes;
 *   <li>decide: COMMITTED with a yes vote, ABORTED otherwise ({@link Steps#commit}, {@link Steps#abort}),
 *       the commit point; the client is answered once it is durable;
 *   <li>send the decision; on the participant's acknowledgement of a commit, record DONE.
 * </ol>
 * A transaction this process is driving is never touched by {@link Recovery}; if the live path
 * cannot record its decision (a full or failed writer), it lets go and recovery aborts the
 * transaction later. A decision is sent only when it is the one in force.
 */
public final class Coordinator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Coordinator.class);
  private static final AttributeKey<String> PHASE = AttributeKey.stringKey("phase");
  private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");
  /** What a participant may refuse a leg for that the client can act on; any other no vote is TRANSFER_ABORTED. */
  private static final Set<ErrorReason> CLIENT_REASONS = Set.of(ErrorReason.ACCOUNT_NOT_FOUND, ErrorReason.BALANCE_OVERFLOW);

  private final String nodeId;
  private final Writer writer;
  private final Peers peers;
  private final Reads reads;
  private final Failpoints failpoints;
  private final Supplier<UUID> uuids;
  private final java.time.Clock clock;
  private final long prepareTimeoutMs;
  /** Transfers this process is driving, so a retry with the same request_id joins its transaction. */
  private final Map<String, CompletableFuture<Outcome>> live = new ConcurrentHashMap<>();
  /**
   * Transfers whose live path let go (the decision could not be recorded), with their participant
   * and when: recovery settles them at its next rounds, whatever the clock says.
   */
  private final Map<String, Pending> letGo = new ConcurrentHashMap<>();
  /** DONE records on their way. */
  private final Finishes finishes;

  private final Tracer tracer;
  private final DoubleHistogram phaseMs;
  private final LongCounter conflicts;

  public Coordinator(String nodeId, Writer writer, Peers peers, Reads reads, Failpoints failpoints,
      Supplier<UUID> uuids, java.time.Clock clock, long prepareTimeoutMs, Telemetry telemetry) {
    this.clock = clock;
    this.nodeId = nodeId;
    this.writer = writer;
    this.peers = peers;
    this.reads = reads;
    this.failpoints = failpoints;
    this.uuids = uuids;
    this.prepareTimeoutMs = prepareTimeoutMs;
    this.finishes = new Finishes(writer);
    this.tracer = telemetry.tracer();
    Meter meter = telemetry.meter();
    this.phaseMs = meter.histogramBuilder("fortress.ledger.twopc.phase.duration").setUnit("ms")
        .setDescription("how long each two-phase commit phase took, by phase and outcome").build();
    this.conflicts = meter.counterBuilder("fortress.ledger.twopc.decision.conflicts")
        .setDescription("committed transactions whose participant answered with another decision or none: "
            + "a credit that will not land without an operator")
        .build();
  }

  /**
   * One phase of a transaction: a span under the transfer's trace, current while the phase's call
   * starts (so the trace crosses to the participant), and its latency.
   */
  private final class Phase {
    private final String name;
    private final Span span;
    private final long startNanos = System.nanoTime();

    Phase(String name, String txid, String peer, Context parent) {
      this.name = name;
      this.span = tracer.spanBuilder("2pc " + name).setParent(parent).setAttribute("fortress.txid", txid)
          .setAttribute("fortress.peer", peer).startSpan();
    }

    <T> CompletableFuture<T> run(Supplier<CompletableFuture<T>> step) {
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

  /**
   * Transfers between an account of this node and one of {@code participant}: step 1 (begin) and
   * step 2 (Prepare) start together, and the decision waits for both. The transaction counts as
   * driven by this process from before its first step is queued, so recovery can never take it for
   * an orphan.
   */
  public CompletableFuture<Outcome> transfer(TransferRequest r, String participant) {
    String txid = "tx-" + uuids.get();
    Context trace = Context.current();
    CompletableFuture<Outcome> result = new CompletableFuture<>();
    live.put(txid, result);
    result.whenComplete((o, e) -> live.remove(txid));
    CompletableFuture<Outcome> begun = writer.submit(Steps.begin(r, txid, participant))
        .handle((o, e) -> e != null ? uncertain(txid) : o);
    CompletableFuture<Vote> vote = prepare(txid, participant, r, trace);
    begun.thenAccept(b -> {
      if (!began(b)) {
        answerUnbegun(txid, b, result);
      }
    });
    begun.thenAcceptBoth(vote, (b, v) -> {
      if (began(b)) {
        failpoints.hit(Failpoints.COORDINATOR_AFTER_PREPARING);
        decide(txid, participant, r, v, result, trace);
      } else if (!uncertain(b) && v.mayHavePrepared()) {
        abortUnbegun(txid, participant, trace);
      }
    });
    return result;
  }

  /** The participant's answer to Prepare: a yes vote (its account), or the error of a no vote or a lost call. */
  private record Vote(PrepareResponse yes, Throwable error) {
    /** Whether the participant may have recorded the leg: a yes vote, or an error that leaves it open. */
    boolean mayHavePrepared() {
      return yes != null || Statuses.fromException(error)
          .map(no -> ErrorReasons.effect(no.reason()) == Effect.EFFECT_UNKNOWN).orElse(true);
    }
  }

  /** True when the begin step held the debit and recorded PREPARING (it answers with the debited account). */
  private static boolean began(Outcome begun) {
    return begun instanceof Outcome.Ok ok && !(ok.response() instanceof TransferResponse);
  }

  /** True when a step's outcome leaves open whether it landed. */
  private static boolean uncertain(Outcome outcome) {
    return outcome instanceof Outcome.Failed f && ErrorReasons.effect(f.rejection().reason()) == Effect.EFFECT_UNKNOWN;
  }

  /** Step 2: sends Prepare, in parallel with step 1; never fails (a lost call is a vote with its error). */
  private CompletableFuture<Vote> prepare(String txid, String participant, TransferRequest r, Context trace) {
    PrepareRequest prepare = PrepareRequest.newBuilder()
        .setTxid(txid)
        .setCoordinatorNodeId(nodeId)
        .setTenantId(Op.creditTenant(r))
        .setAccountId(r.getToAccountId())
        .setAmount(r.getAmount())
        .setRequestId(r.getRequestId())
        .setMemo(r.getMemo())
        .build();
    return new Phase("prepare", txid, participant, trace)
        .run(() -> peers.prepare(participant, prepare, prepareTimeoutMs))
        .handle(Vote::new);
  }

  /**
   * Answers a transfer whose begin did not record PREPARING: a replay of a finished transfer, a
   * refusal (the client's reason), a retry that joins the transfer this process drives with the
   * same request_id, a txid already presumed aborted (TRANSFER_ABORTED), or an uncertain outcome.
   */
  private void answerUnbegun(String txid, Outcome begun, CompletableFuture<Outcome> result) {
    if (begun instanceof Outcome.Failed failed) {
      Rejection why = failed.rejection();
      // A retry of a transfer still being decided joins it when this process drives it.
      CompletableFuture<Outcome> running = why.reason() == ErrorReason.TRANSFER_IN_PROGRESS
          ? live.get(why.metadata().get("txid")) : null;
      if (running != null && running != result) {
        running.whenComplete((o, e) -> result.complete(e != null ? uncertain(txid) : o));
        return;
      }
      if (why.reason() == ErrorReason.TRANSACTION_DECIDED) {
        result.complete(Outcome.failed(aborted(txid)));
        return;
      }
    }
    result.complete(begun);
  }

  /**
   * The begin was refused for certain while the participant may have prepared the leg: records
   * the abort (a tombstone, unless a participant's GetDecision already did) and, once it is the
   * decision in force, sends Abort, so the leg does not wait for its in-doubt timeout. If the
   * tombstone cannot be written, nothing is sent: the participant asks GetDecision later.
   */
  private void abortUnbegun(String txid, String participant, Context trace) {
    new Phase("presume-abort", txid, participant, trace).run(() -> writer.submit(Steps.presumeAbort(txid, participant)))
        .whenComplete((o, e) -> {
          if (e == null && o instanceof Outcome.Ok ok
              && ((GetDecisionResponse) ok.response()).getDecision() == Decision.DECISION_ABORTED) {
            deliver(txid, participant, false, trace);
          } else {
            log.debug("transaction {}: abort of an unbegun leg not recorded ({}); the participant will ask", txid,
                e != null ? e.toString() : o);
          }
        });
  }

  /**
   * Step 3 once the begin is durable: COMMITTED with a yes vote, ABORTED without one; then answers
   * the client and sends the decision.
   */
  private void decide(String txid, String participant, TransferRequest r, Vote vote, CompletableFuture<Outcome> result,
      Context trace) {
    Rejection no = null;
    if (vote.yes() != null) {
      failpoints.hit(Failpoints.COORDINATOR_AFTER_VOTE);
    } else {
      Throwable error = vote.error();
      no = Statuses.fromException(error).filter(x -> CLIENT_REASONS.contains(x.reason()))
          // Another tenant's account: one answer whether it is missing or cannot take the credit.
          .map(x -> Op.creditTenant(r).equals(r.getTenantId()) ? x : Rejection.destinationUnavailable())
          .orElse(Rejection.of(ErrorReason.TRANSFER_ABORTED, "the transfer was aborted because node " + participant
              + " did not vote yes in time (" + error.getMessage() + "); nothing was moved", "txid", txid));
      log.debug("transaction {}: {} voted no: {}", txid, participant, no.message());
    }
    Rejection refused = no;
    Op decision = vote.yes() != null ? Steps.commit(txid, vote.yes().getAccount()) : Steps.abort(txid);
    new Phase("decide", txid, participant, trace).run(() -> writer.submit(decision))
        .whenComplete((decided, e) -> {
      Outcome outcome = e != null ? uncertain(txid) : decided;
      Boolean committed = inForce(outcome);
      if (committed == null) {
        // Recovery aborts it, or finds the commit landed after all.
        letGo.put(txid, new Pending(txid, participant, clock.millis() * 1000));
        result.complete(uncertain(txid));
        return;
      }
      if (committed) {
        failpoints.hit(Failpoints.COORDINATOR_AFTER_DECISION);
        if (outcome instanceof Outcome.Ok) {
          result.complete(outcome);
        } else {
          recorded(r, txid).whenComplete((o, x) -> result.complete(x != null ? uncertain(txid) : o));
        }
      } else {
        result.complete(Outcome.failed(refused != null ? refused : aborted(txid)));
      }
      deliver(txid, participant, committed, trace);
    });
  }

  /**
   * The decision in force after a decide step: true (committed) or false (aborted), whether this
   * step decided or an earlier one had (TRANSACTION_DECIDED); null when the step did not apply
   * (queue full, storage failure), so nothing is known to be in force.
   */
  static Boolean inForce(Outcome outcome) {
    if (outcome instanceof Outcome.Ok ok) {
      return ok.response() instanceof TransferResponse;
    }
    Rejection why = ((Outcome.Failed) outcome).rejection();
    return why.reason() == ErrorReason.TRANSACTION_DECIDED ? "COMMITTED".equals(why.metadata().get("decision")) : null;
  }

  private static Rejection aborted(String txid) {
    return Rejection.of(ErrorReason.TRANSFER_ABORTED, "the transfer was aborted; nothing was moved", "txid", txid);
  }

  /** The response recorded by the commit of a transfer (decided before this path could). */
  private CompletableFuture<Outcome> recorded(TransferRequest r, String txid) {
    return reads.run(records -> records.lookUp(r.getTenantId(), r.getFromAccountId(), null, r.getRequestId()))
        .thenApply(found -> found instanceof Lookup.Found f && f.operation().hasTransfer()
            ? Outcome.ok(f.operation().getTransfer()) : uncertain(txid));
  }

  private static Outcome uncertain(String txid) {
    return Outcome.failed(Rejection.of(ErrorReason.OUTCOME_UNKNOWN,
        "the outcome of transaction " + txid + " is uncertain; resolve it with GetOperation", "txid", txid));
  }

  /**
   * Step 4: sends the decision in force to the participant. A commit acknowledged is recorded as
   * DONE, following a later decision ({@link Finishes}); a participant that answers a commit with
   * another decision (or none) is a conflict that only an operator can settle: it is logged and
   * counted, and the credit stays overdue. An abort is best effort: a participant without the
   * decision asks GetDecision.
   */
  CompletableFuture<Void> deliver(String txid, String participant, boolean commit, Context trace) {
    if (!commit) {
      return peers.abort(participant, AbortRequest.newBuilder().setTxid(txid).build(), prepareTimeoutMs)
          .handle((ack, e) -> null);
    }
    return new Phase("commit", txid, participant, trace)
        .run(() -> peers.commit(participant, CommitRequest.newBuilder().setTxid(txid).build(), prepareTimeoutMs))
        .thenAccept(ack -> finished(txid))
        .handle((done, e) -> {
          if (e != null) {
            Rejection refused = Statuses.fromException(e).orElse(null);
            if (refused != null && (refused.reason() == ErrorReason.TRANSACTION_DECIDED
                || refused.reason() == ErrorReason.TRANSACTION_NOT_FOUND)) {
              conflicts.add(1);
              log.error("transaction {}: committed here, but participant {} answers {}: its credit will not land",
                  txid, participant, refused.message());
            } else {
              log.debug("transaction {}: commit not acknowledged by {} yet: {}", txid, participant, e.toString());
            }
          }
          return null;
        });
  }

  /** The participant acknowledged the commit: DONE rides with the node's next batch. */
  private void finished(String txid) {
    finishes.add(txid);
  }

  /**
   * Committed transactions whose participant acknowledged the credit and whose DONE record is not
   * durable yet: GetTotals counts them as credited, not in flight.
   */
  public Set<String> acknowledged() {
    return finishes.acknowledged();
  }

  /** DONE records not durable yet. */
  public int finishing() {
    return finishes.size();
  }

  /** True while this process is driving the transaction (recovery leaves it alone). */
  boolean driving(String txid) {
    return live.containsKey(txid);
  }

  /** The transactions this process let go, by txid. */
  Map<String, Pending> letGo() {
    return letGo;
  }

  /**
   * What this node decided on a transaction it coordinates (GetDecision), asked by node
   * {@code asking} (null: not known). A txid with no record is presumed aborted, and the abort is
   * recorded first (a tombstone, through the writer, behind any begin of it already queued): only
   * once that is durable is ABORTED the answer, so a begin of the txid can never land after it.
   * Answers with a GetDecisionResponse, or the writer's refusal (ask again later).
   */
  public CompletableFuture<Outcome> decision(GetDecisionRequest r, String asking) {
    String txid = r.getTxid();
    return reads.run(records -> records.decision(txid)).thenCompose(known -> known != Decision.DECISION_UNKNOWN
        ? CompletableFuture.completedFuture(Outcome.ok(GetDecisionResponse.newBuilder().setDecision(known).build()))
        : writer.submit(Steps.presumeAbort(txid, asking)));
  }

  /** Transfers this process is driving now. */
  public int liveCount() {
    return live.size();
  }

  /** Answers every transfer still being driven: its outcome is uncertain, recovery finishes it. */
  @Override
  public void close() {
    live.values().forEach(f -> f.complete(Outcome.failed(Rejection.of(ErrorReason.OUTCOME_UNKNOWN,
        "the ledger node is shutting down; the transfer's outcome is uncertain, resolve it with GetOperation"))));
  }
}
