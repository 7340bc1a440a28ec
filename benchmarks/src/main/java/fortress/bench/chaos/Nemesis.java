package fortress.bench.chaos;

import fortress.local.LocalCluster;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Injects one fault at a time on a seeded schedule, each bounded in time and recorded:
 * <ul>
 *   <li>{@code kill}: SIGKILL a ledger node or the proxy, keep it down for 0.2-2 s, start it
 *       again and wait until it serves;
 *   <li>{@code pause}: SIGSTOP a ledger node for 0.5-3 s, then SIGCONT.
 * </ul>
 * The same seed gives the same sequence of faults and targets.
 */
final class Nemesis implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(Nemesis.class);

  private final LocalCluster cluster;
  private final History history;
  private final Random random;
  private final long intervalMs;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<String> targets = new ArrayList<>();
  private final Thread thread = new Thread(this, "nemesis");
  private volatile Exception failure;

  Nemesis(LocalCluster cluster, History history, long seed, long intervalMs) {
    this.cluster = cluster;
    this.history = history;
    this.random = new Random(seed);
    this.intervalMs = intervalMs;
    targets.addAll(cluster.nodeIds());
    targets.add(LocalCluster.PROXY);
  }

  void start() {
    thread.start();
  }

  /** Stops after the fault in progress has ended, so every server is up again when this returns. */
  void stop() throws Exception {
    running.set(false);
    thread.join();
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void run() {
    try {
      while (running.get()) {
        long wakeUp = System.currentTimeMillis() + intervalMs / 2 + random.nextInt((int) Math.max(1, intervalMs));
        while (running.get() && System.currentTimeMillis() < wakeUp) {
          Thread.sleep(50);
        }
        if (!running.get()) {
          return;
        }
        String target = targets.get(random.nextInt(targets.size()));
        boolean pause = !target.equals(LocalCluster.PROXY) && random.nextInt(3) == 0;
        long start = history.now();
        if (pause) {
          long ms = 500 + random.nextInt(2_500);
          cluster.pause(target);
          Thread.sleep(ms);
          cluster.resume(target);
          history.add(new History.Fault("pause", target, start, history.now()));
        } else {
          long ms = 200 + random.nextInt(1_800);
          cluster.kill(target);
          Thread.sleep(ms);
          cluster.restart(target);
          history.add(new History.Fault("kill", target, start, history.now()));
        }
        log.info("fault {} on {} ended after {} ms", pause ? "pause" : "kill", target, history.now() - start);
      }
    } catch (Exception e) {
      failure = e;
      log.error("nemesis failed", e);
    }
  }

}
