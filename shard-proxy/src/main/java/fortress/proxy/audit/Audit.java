package fortress.proxy.audit;

import fortress.proxy.api.ClusterProxy;
import io.opentelemetry.api.metrics.Meter;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's standing check of the whole cluster, published as metrics for alerting: every
 * audit interval, the cluster's totals (conserved or not, credit in flight); every verify
 * interval, every node's journal. A value of -1 means the last check could not reach every node.
 * Totals are read from the nodes one after another while transfers run, so one unconserved
 * reading can be a race; an alert should wait for it to last (deploy/observability).
 */
public final class Audit {
  private static final Logger log = LoggerFactory.getLogger(Audit.class);
  private static final long UNKNOWN = -1;

  private final ClusterProxy cluster;
  private final AtomicLong conserved = new AtomicLong(UNKNOWN);
  private final AtomicLong inFlight = new AtomicLong(UNKNOWN);
  private final AtomicLong overdue = new AtomicLong(UNKNOWN);
  private final AtomicLong verified = new AtomicLong(UNKNOWN);

  public Audit(ClusterProxy cluster, Meter meter) {
    this.cluster = cluster;
    meter.gaugeBuilder("fortress.cluster.conserved").ofLongs()
        .setDescription("1 if the last totals check found credits conserved, 0 if not, -1 if it could not run")
        .buildWithCallback(m -> m.record(conserved.get()));
    meter.gaugeBuilder("fortress.cluster.in_flight_credit").ofLongs().setUnit("{credit}")
        .setDescription("credit prepared but not yet committed on a participant, at the last totals check")
        .buildWithCallback(m -> m.record(inFlight.get()));
    meter.gaugeBuilder("fortress.cluster.overdue_credit").ofLongs().setUnit("{credit}")
        .setDescription("credit committed but not applied on its participant within the nodes' in-flight bound, at "
            + "the last totals check: lost until an operator settles it")
        .buildWithCallback(m -> m.record(overdue.get()));
    meter.gaugeBuilder("fortress.cluster.journal.verified").ofLongs()
        .setDescription("1 if the last verification of every node's journal passed, 0 if not, -1 if it could not run")
        .buildWithCallback(m -> m.record(verified.get()));
  }

  /** Schedules both checks; an interval of 0 turns that check off. */
  public void start(ScheduledExecutorService timer, long auditIntervalMs, long verifyIntervalMs) {
    if (auditIntervalMs > 0) {
      timer.scheduleWithFixedDelay(this::checkTotals, auditIntervalMs, auditIntervalMs, TimeUnit.MILLISECONDS);
    }
    if (verifyIntervalMs > 0) {
      timer.scheduleWithFixedDelay(this::verifyJournals, verifyIntervalMs, verifyIntervalMs, TimeUnit.MILLISECONDS);
    }
  }

  void checkTotals() {
    cluster.totals().whenComplete((t, e) -> {
      if (e != null) {
        conserved.set(UNKNOWN);
        overdue.set(UNKNOWN);
        log.warn("cluster totals check could not run: {}", e.toString());
        return;
      }
      conserved.set(t.getConserved() ? 1 : 0);
      inFlight.set(t.getInFlightCredit());
      overdue.set(t.getOverdueCredit());
      if (t.getOverdueCredit() > 0) {
        log.error("cluster has {} credit committed but not applied within the in-flight bound (see ListInDoubt)",
            t.getOverdueCredit());
      } else if (!t.getConserved()) {
        log.warn("cluster totals not conserved: balance {} + in flight {} != deposited {} - consumed {}",
            t.getBalance(), t.getInFlightCredit(), t.getDeposited(), t.getConsumed());
      }
    });
  }

  void verifyJournals() {
    cluster.verify().whenComplete((v, e) -> {
      if (e != null) {
        verified.set(UNKNOWN);
        log.warn("journal verification could not run: {}", e.toString());
        return;
      }
      if (v.getNodesList().stream().anyMatch(n -> !n.getError().isEmpty())) {
        verified.set(UNKNOWN);
        log.warn("journal verification could not reach every node: {}", v);
        return;
      }
      verified.set(v.getOk() ? 1 : 0);
      if (!v.getOk()) {
        log.error("journal verification failed: {}", v);
      }
    });
  }
}
