package fortress.ledger.twopc;

import fortress.core.telemetry.Telemetry;
import fortress.ledger.store.Pending;
import fortress.ledger.store.Reads;
import fortress.ledger.store.Records;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionRequest;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.context.Context;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes the transactions nobody is driving (presumed abort), on this node in both roles. Each
 * round pages through three kinds of unfinished transaction, each on its own cursor, so stuck rows
 * of one kind never hide rows of another, nor later rows of their own kind:
 * <ul>
 *   <li>coordinator PREPARING, older than the prepare timeout (any at start-up) and not driven by
 *       this process: abort it, then send the decision in force (Abort, or Commit if a commit won);
 *       if the abort did not apply (queue full, storage failure), send nothing and try next round;
 *   <li>coordinator COMMITTED, decided longer than the prepare timeout ago (any at start-up):
 *       send Commit again;
 *   <li>participant PREPARED, older than the in-doubt timeout (any at start-up): ask the
 *       coordinator; COMMITTED or ABORTED is applied (an ABORTED for a txid the coordinator had no
 *       record of is recorded there as a tombstone first), UNKNOWN (an older coordinator with no
 *       record) aborts, PENDING or an error waits.
 * </ul>
 * Transactions this process let go (its live path could not record a decision) are settled at the
 * next round whatever their age. Start-up recovery ({@link #startUp}) runs before the node serves,
 * when nothing of this process can be driving a transaction, and aborts every PREPARING one.
 * Recovery takes the same steps as the live path, through the same writer, so racing it changes
 * nothing twice.
 */
public final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);
  /** A time after every row's clock (the year 3000), for "whatever its age". */
  private static final long ANY_AGE_MICROS = 32_503_680_000_000_000L;

  private final Coordinator coordinator;
  private final Writer writer;
  private final Peers peers;
  private final Reads reads;
  private final Clock clock;
  private final long prepareTimeoutMs;
  private final long inDoubtTimeoutMs;
  private final long inFlightBoundMs;
  private final int batchMax;
  private final Map<Pending.Kind, Pending.Cursor> cursors = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicReference<Records.Backlog> backlog = new AtomicReference<>(new Records.Backlog(0, 0, 0, 0, 0));

  public Recovery(Coordinator coordinator, Writer writer, Peers peers, Reads reads, Clock clock, long prepareTimeoutMs,
      long inDoubtTimeoutMs, long inFlightBoundMs, int batchMax, Telemetry telemetry) {
    this.coordinator = coordinator;
    this.writer = writer;
    this.peers = peers;
    this.reads = reads;
    this.clock = clock;
    this.prepareTimeoutMs = prepareTimeoutMs;
    this.inDoubtTimeoutMs = inDoubtTimeoutMs;
    this.inFlightBoundMs = inFlightBoundMs;
    this.batchMax = batchMax;
    for (Pending.Kind kind : Pending.Kind.values()) {
      cursors.put(kind, Pending.Cursor.START);
    }
    Meter meter = telemetry.meter();
    meter.gaugeBuilder("fortress.ledger.twopc.unfinished").ofLongs()
        .setDescription("two-phase commit transactions not yet finished on this node (either role)")
        .buildWithCallback(m -> m.record(backlog.get().total()));
    meter.gaugeBuilder("fortress.ledger.twopc.unfinished.oldest.age").setUnit("s")
        .setDescription("age of the oldest unfinished two-phase commit transaction on this node")
        .buildWithCallback(m -> {
          long oldest = backlog.get().oldestMicros();
          m.record(oldest == 0 ? 0 : Math.max(0, clock.millis() - oldest / 1000) / 1000.0);
        });
    meter.gaugeBuilder("fortress.ledger.twopc.overdue").ofLongs()
        .setDescription("committed transactions whose credit has not reached the participant within the "
            + "in-flight bound: lost credit until an operator settles it")
        .buildWithCallback(m -> m.record(backlog.get().overdue()));
  }

  /**
   * Start-up recovery, before the node serves: every PREPARING transaction is an earlier run's, so
   * each is aborted now, page after page, whatever its age; the decisions in force go out to the
   * participants meanwhile. Completes when every abort has applied or failed (a failed one is
   * retried by the periodic rounds). Then starts a round for the other kinds without waiting for
   * the peers, which may be starting too.
   */
  public CompletableFuture<Void> startUp() {
    return abortEvery(Pending.Cursor.START).thenRun(() -> round(true));
  }

  private CompletableFuture<Void> abortEvery(Pending.Cursor after) {
    return reads.run(r -> r.pending(Pending.Kind.PREPARING, after, ANY_AGE_MICROS, batchMax))
        .thenCompose(rows -> {
          CompletableFuture<Void> applied = all(rows, p -> abortStale(p, false));
          return rows.size() < batchMax ? applied
              : applied.thenCompose(v -> abortEvery(rows.get(rows.size() - 1).cursor()));
        });
  }

  /** One periodic round; completes when every call it started has answered (each carries a timeout). */
  public CompletableFuture<Void> round() {
    return round(false);
  }

  private CompletableFuture<Void> round(boolean startup) {
    long nowMicros = clock.millis() * 1000;
    long any = ANY_AGE_MICROS;
    peers.resetBackoff();
    List<CompletableFuture<?>> started = new ArrayList<>();
    started.add(reads.run(r -> r.backlog(nowMicros - inFlightBoundMs * 1000)).thenAccept(backlog::set));
    coordinator.letGo().values().stream().limit(batchMax).forEach(p -> started.add(abortStale(p, true)));
    if (!startup) {
      started.add(page(Pending.Kind.PREPARING, nowMicros - prepareTimeoutMs * 1000)
          .thenCompose(rows -> all(rows, p -> abortStale(p, true))));
    }
    started.add(page(Pending.Kind.COMMITTED, startup ? any : nowMicros - prepareTimeoutMs * 1000)
        .thenCompose(rows -> all(rows, p -> coordinator.deliver(p.txid(), p.peer(), true, Context.root()))));
    started.add(page(Pending.Kind.PREPARED, startup ? any : nowMicros - inDoubtTimeoutMs * 1000)
        .thenCompose(rows -> all(rows, this::askDecision)));
    return CompletableFuture.allOf(started.stream().map(f -> f.handle((v, e) -> {
      if (e != null) {
        log.warn("two-phase commit recovery: {}", e.toString());
      }
      return null;
    })).toArray(CompletableFuture[]::new));
  }

  /** The next page of one kind after its cursor; a short page sends the cursor back to the start. */
  private CompletableFuture<List<Pending>> page(Pending.Kind kind, long beforeMicros) {
    Pending.Cursor after = cursors.get(kind);
    return reads.run(r -> r.pending(kind, after, beforeMicros, batchMax)).thenApply(rows -> {
      cursors.put(kind, rows.size() < batchMax ? Pending.Cursor.START : rows.get(rows.size() - 1).cursor());
      return rows;
    });
  }

  private static CompletableFuture<Void> all(List<Pending> rows,
      java.util.function.Function<Pending, CompletableFuture<?>> each) {
    return CompletableFuture.allOf(rows.stream().map(each).toArray(CompletableFuture[]::new));
  }

  /**
   * Aborts a PREPARING transaction nobody drives, then sends the participant the decision in force:
   * Abort if the abort applied or an abort was already in force, Commit if a commit was; nothing if
   * the abort did not apply at all (the next round tries again). Completes once the abort step has
   * answered, and, if {@code awaitDelivery}, once the participant has too.
   */
  private CompletableFuture<?> abortStale(Pending p, boolean awaitDelivery) {
    if (coordinator.driving(p.txid())) {
      return CompletableFuture.completedFuture(null);
    }
    log.info("transaction {}: no decision since {}; aborting (presumed abort)", p.txid(), p.clockMicros());
    return writer.submit(Steps.abort(p.txid())).thenCompose(outcome -> {
      Boolean committed = Coordinator.inForce(outcome);
      if (committed == null && ((Outcome.Failed) outcome).rejection().reason() == ErrorReason.TRANSACTION_NOT_FOUND) {
        coordinator.letGo().remove(p.txid());
        log.error("transaction {}: to be aborted, but this node has no record of it", p.txid());
        return CompletableFuture.completedFuture(null);
      }
      if (committed == null) {
        log.warn("transaction {}: abort not applied ({}); trying again next round", p.txid(),
            ((Outcome.Failed) outcome).rejection().message());
        return CompletableFuture.completedFuture(null);
      }
      coordinator.letGo().remove(p.txid());
      CompletableFuture<Void> delivered = coordinator.deliver(p.txid(), p.peer(), committed, Context.root());
      return awaitDelivery ? delivered : CompletableFuture.completedFuture(null);
    });
  }

  /** Participant: asks the coordinator for the decision on a leg and applies it. */
  private CompletableFuture<?> askDecision(Pending p) {
    return peers.getDecision(p.peer(), GetDecisionRequest.newBuilder().setTxid(p.txid()).build(), prepareTimeoutMs)
        .thenCompose(answer -> {
          Decision d = answer.getDecision();
          switch (d) {
            case DECISION_COMMITTED, DECISION_ABORTED, DECISION_UNKNOWN -> {
              log.info("transaction {}: coordinator {} says {}; applying it", p.txid(), p.peer(), d);
              return writer.submit(d == Decision.DECISION_COMMITTED ? Steps.commitLeg(p.txid(), null)
                  : Steps.abortLeg(p.txid(), null));
            }
            case DECISION_PENDING -> {
              return CompletableFuture.completedFuture(null);
            }
            default -> {
              log.error("transaction {}: coordinator {} answered {}, which is no decision; asking again later",
                  p.txid(), p.peer(), d);
              return CompletableFuture.completedFuture(null);
            }
          }
        })
        .handle((v, e) -> {
          if (e != null) {
            log.debug("transaction {}: cannot ask {} for the decision yet: {}", p.txid(), p.peer(), e.toString());
          }
          return null;
        });
  }
}
