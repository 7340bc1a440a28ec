package fortress.bench.chaos;

import fortress.ledger.twopc.Failpoints;
import fortress.local.LocalCluster;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Injects faults on a seeded schedule, at most two at a time and never two on one server, each
 * bounded in time and recorded when it ends:
 * <ul>
 *   <li>{@code kill}: SIGKILL a ledger node or the proxy, keep it down for 0.2-2 s, start it
 *       again and wait until it serves;
 *   <li>{@code pause}: SIGSTOP a ledger node for 0.5-3 s, then SIGCONT;
 *   <li>{@code terminate-backends}: pg_terminate_backend on every connection the ledger nodes
 *       hold to PostgreSQL;
 *   <li>{@code failpoint:NAME}: SIGKILL a node and start it with a two-phase commit failpoint
 *       armed; it halts when a cross-node transfer reaches that point (or is killed after 5 s), and
 *       starts again without it;
 *   <li>{@code postgres-restart} and {@code postgres-crash}: stop PostgreSQL under the running
 *       servers, by a fast shutdown or by an immediate one (no checkpoint, so the WAL is replayed
 *       at the next start), keep it down for 0.2-2 s and start it again on the same port;
 *   <li>{@code stall-writer}: block a node's database (an exclusive lock on its account table) for
 *       1.5-3 times the prepare timeout, so its writer stalls, its queue fills and its decisions
 *       wait past every timeout;
 *   <li>{@code long-pause}: SIGSTOP a node for 2-3 times the prepare timeout, so a coordinator
 *       wakes up after its transactions' deadlines;
 *   <li>{@code link-faults}: for 3-10 s, the hop other nodes reach a node through loses 30% of
 *       the messages (requests and answers) and delays half of the rest by up to twice the
 *       prepare timeout.
 * </ul>
 * Kills are 20% of the choices, pauses 15%, long pauses 8%, terminated backends 12%, failpoints
 * 10%, PostgreSQL restarts 10% (half of them crashes), writer stalls 13% and link faults 12%. The
 * same seed gives the same sequence of choices; a choice whose server is already under a fault is
 * skipped.
 */
final class Nemesis implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(Nemesis.class);

  private final LocalCluster cluster;
  private final Map<String, LinkHop> hops;
  private final long prepareTimeoutMs;
  private final History history;
  private static final List<String> FAILPOINTS = List.of(Failpoints.COORDINATOR_AFTER_PREPARING,
      Failpoints.COORDINATOR_AFTER_VOTE, Failpoints.COORDINATOR_AFTER_DECISION, Failpoints.PARTICIPANT_AFTER_PREPARE);
  private static final long FAILPOINT_WAIT_MS = 5_000;
  /** At most two faults at once, each on its own server, so the cluster is never all down. */
  private static final int CONCURRENT_MAX = 2;

  private final Random random;
  private final boolean rolling;
  private final long intervalMs;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<String> targets = new ArrayList<>();
  private final Thread thread = new Thread(this, "nemesis");
  private volatile Exception failure;
  private int restarts;
  /** Faults run here, so a slow restart does not hold up the next fault on another server. */
  private final java.util.concurrent.ExecutorService faults = java.util.concurrent.Executors.newCachedThreadPool();
  private final java.util.Set<String> busy = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * {@code rolling}: instead of random faults, restart every server in turn, gracefully (SIGTERM,
   * start, wait until it serves), one at a time, round after round, as a deployment does.
   */
  Nemesis(LocalCluster cluster, Map<String, LinkHop> hops, long prepareTimeoutMs, History history, long seed,
      long intervalMs, boolean rolling) {
    this.cluster = cluster;
    this.hops = hops;
    this.prepareTimeoutMs = prepareTimeoutMs;
    this.history = history;
    this.random = new Random(seed);
    this.rolling = rolling;
    this.intervalMs = intervalMs;
    targets.addAll(cluster.nodeIds());
    targets.add(LocalCluster.PROXY);
  }

  void start() {
    thread.start();
  }

  /** Stops after the faults under way have ended, so every server is up again when this returns. */
  void stop() throws Exception {
    running.set(false);
    thread.join();
    faults.shutdown();
    if (!faults.awaitTermination(2, java.util.concurrent.TimeUnit.MINUTES)) {
      throw new IllegalStateException("faults still under way after two minutes");
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Ends every ledger connection to PostgreSQL; the pools notice and reconnect. */
  private void terminateBackends() throws SQLException {
    try (Connection c = DriverManager.getConnection(cluster.postgres().jdbcUrl("postgres"));
        Statement s = c.createStatement()) {
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'ledger\\_%' "
          + "AND pid <> pg_backend_pid()");
    }
  }

  /**
   * Blocks a node's database for {@code ms}: an open transaction holds an exclusive lock on its
   * account table, so the node's writer waits at its next batch. A PostgreSQL restart under way
   * ends the stall early (its connection goes), which is recorded as such.
   */
  private void stallWriter(String node, long ms) throws InterruptedException {
    String database = "ledger_" + node.substring(node.lastIndexOf('-') + 1);
    try (Connection c = DriverManager.getConnection(cluster.postgres().jdbcUrl(database))) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = '5s'");
        s.execute("LOCK TABLE account IN ACCESS EXCLUSIVE MODE");
      }
      Thread.sleep(ms);
      c.rollback();
    } catch (SQLException e) {
      log.info("stall of {} ended early: {}", node, e.getMessage());
    }
  }

  /** Restarts a node with a failpoint armed, lets it halt there (or kills it), and restarts it clean. */
  private void armFailpoint(String node, String failpoint) throws Exception {
    cluster.kill(node);
    cluster.launch(node, List.of("--failpoints=" + failpoint));
    try {
      cluster.awaitServing(node);
      cluster.awaitExit(node, FAILPOINT_WAIT_MS);
    } catch (IllegalStateException e) {
      // Not reached within the wait, or reached (or failed) before the node was seen serving.
      cluster.kill(node);
    }
    restart(node);
  }

  @Override
  public void run() {
    try {
      while (running.get()) {
        long wakeUp = System.currentTimeMillis() + intervalMs / 2 + random.nextInt((int) Math.max(1, intervalMs));
        while (running.get() && System.currentTimeMillis() < wakeUp) {
          Thread.sleep(50);
        }
        if (!running.get() || failure != null) {
          return;
        }
        if (rolling) {
          String target = targets.get(restarts++ % targets.size());
          long start = history.now();
          cluster.stop(target);
          cluster.restart(target);
          history.add(new History.Fault("restart", target, start, history.now()));
          log.info("rolling restart of {} took {} ms", target, history.now() - start);
          continue;
        }
        int pick = random.nextInt(100);
        String node = cluster.nodeIds().get(random.nextInt(cluster.nodeIds().size()));
        String anyTarget = targets.get(random.nextInt(targets.size()));
        long downMs = 200 + random.nextInt(1_800);
        long pauseMs = 500 + random.nextInt(2_500);
        String failpoint = FAILPOINTS.get(random.nextInt(FAILPOINTS.size()));
        long pastTimeoutsMs = prepareTimeoutMs * 3 / 2 + random.nextInt((int) Math.max(1, prepareTimeoutMs * 3 / 2));
        long linkMs = 3_000 + random.nextInt(7_000);
        if (pick < 20) {
          begin("kill", anyTarget, () -> {
            cluster.kill(anyTarget);
            Thread.sleep(downMs);
            restart(anyTarget);
          });
        } else if (pick < 35) {
          begin("pause", node, () -> {
            cluster.pause(node);
            Thread.sleep(pauseMs);
            cluster.resume(node);
          });
        } else if (pick < 43) {
          begin("long-pause", node, () -> {
            cluster.pause(node);
            Thread.sleep(pastTimeoutsMs + prepareTimeoutMs / 2);
            cluster.resume(node);
          });
        } else if (pick < 55) {
          begin("terminate-backends", "postgres", this::terminateBackends);
        } else if (pick < 65) {
          begin("failpoint:" + failpoint, node, () -> armFailpoint(node, failpoint));
        } else if (pick < 75) {
          boolean crash = pick >= 70;
          begin(crash ? "postgres-crash" : "postgres-restart", "postgres",
              () -> cluster.restartPostgres(crash, downMs));
        } else if (pick < 88) {
          begin("stall-writer", node, () -> stallWriter(node, pastTimeoutsMs));
        } else {
          begin("link-faults", node, () -> {
            LinkHop hop = hops.get(node);
            hop.inject(new LinkHop.Fault(0.3, 2 * prepareTimeoutMs, System.currentTimeMillis() + linkMs));
            Thread.sleep(linkMs);
            hop.heal();
          });
        }
      }
    } catch (Exception e) {
      failure = e;
      log.error("nemesis failed", e);
    }
  }

  /**
   * Starts a server again as a supervisor would: a start that fails (its database connection cut
   * by a concurrent fault, say) is retried, up to three times.
   */
  private void restart(String target) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        cluster.restart(target);
        return;
      } catch (IllegalStateException e) {
        if (attempt == 3) {
          throw e;
        }
        log.warn("{} did not start (attempt {}): {}; starting it again", target, attempt, e.getMessage());
      }
    }
  }

  /** A fault's steps, from its start to its end. */
  @FunctionalInterface
  private interface Steps {
    void run() throws Exception;
  }

  /**
   * Starts a fault in the background unless its target is already under one or
   * {@link #CONCURRENT_MAX} faults are under way; the fault is recorded when it ends.
   */
  private void begin(String kind, String target, Steps steps) {
    if (busy.size() >= CONCURRENT_MAX || !busy.add(target)) {
      return;
    }
    long start = history.now();
    faults.submit(() -> {
      try {
        steps.run();
        history.add(new History.Fault(kind, target, start, history.now()));
        log.info("fault {} on {} ended after {} ms", kind, target, history.now() - start);
      } catch (Exception e) {
        failure = e;
        log.error("fault {} on {} failed", kind, target, e);
      } finally {
        busy.remove(target);
      }
    });
  }
}
