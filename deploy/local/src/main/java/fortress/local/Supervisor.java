package fortress.local;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Restarts the servers of a {@link LocalCluster} that die without the cluster ending them. Only
 * {@code deploy/local/run} uses it; the tests and benchmarks kill servers on purpose and supervise
 * none.
 *
 * <p>On each death it prints at once one line naming the server, its pid and its exit status,
 * then the last {@value #LOG_TAIL_LINES} lines of its log. It restarts the server, with its own
 * command and the jar copies taken at start, after a backoff that doubles from
 * {@link Policy#backoffFirstMs} up to {@link Policy#backoffMaxMs}, and says when it is SERVING
 * again. A server that already had {@link Policy#restartMax} restarts within
 * {@link Policy#restartWindowMs} is given up on, with a line saying so; the rest of the cluster
 * keeps running.
 */
public final class Supervisor {
  public static final int LOG_TAIL_LINES = 20;
  /** How much of the end of a log is read for its last lines. */
  private static final int LOG_TAIL_BYTES_MAX = 64 * 1024;
  private static final int LOG_LINE_CHARS_MAX = 400;
  private static final String PREFIX = "supervisor: ";

  /**
   * When to restart: at most {@code restartMax} restarts of one server within
   * {@code restartWindowMs}, the first after {@code backoffFirstMs}, each next one after twice the
   * wait of the one before, capped at {@code backoffMaxMs}.
   */
  public record Policy(int restartMax, long restartWindowMs, long backoffFirstMs, long backoffMaxMs) {
    public static final int RESTART_MAX_DEFAULT = 5;
    public static final long RESTART_WINDOW_MS_DEFAULT = 600_000;
    public static final long BACKOFF_FIRST_MS_DEFAULT = 1_000;
    public static final long BACKOFF_MAX_MS_DEFAULT = 30_000;

    public Policy {
      checkArgument(restartMax >= 1 && restartMax <= 100, "restartMax must be from 1 to 100, not %s", restartMax);
      checkArgument(restartWindowMs >= 1_000, "restartWindowMs must be at least 1000, not %s", restartWindowMs);
      checkArgument(backoffFirstMs >= 1 && backoffFirstMs <= backoffMaxMs,
          "backoffFirstMs (%s) must be from 1 to backoffMaxMs (%s)", backoffFirstMs, backoffMaxMs);
    }

    /** The defaults, with {@code restartMax} restarts within {@code restartWindowMs}. */
    public static Policy of(int restartMax, long restartWindowMs) {
      return new Policy(restartMax, restartWindowMs, BACKOFF_FIRST_MS_DEFAULT, BACKOFF_MAX_MS_DEFAULT);
    }

    /** The wait before a server's restart when it had {@code recentRestarts} within the window. */
    long backoffMs(int recentRestarts) {
      long wait = backoffFirstMs;
      for (int i = 0; i < recentRestarts && wait < backoffMaxMs; i++) {
        wait *= 2;
      }
      return Math.min(wait, backoffMaxMs);
    }
  }

  private final LocalCluster cluster;
  private final Policy policy;
  private final PrintStream out;
  /** Per server, when each restart within the window was decided (System.nanoTime). Guarded by this. */
  private final Map<String, Deque<Long>> restarts = new HashMap<>();
  /** Waits and restarts; a server has at most one restart under way, so one thread per server. */
  private final ExecutorService restarting;

  private Supervisor(LocalCluster cluster, Policy policy, PrintStream out) {
    this.cluster = cluster;
    this.policy = policy;
    this.out = out;
    this.restarting = Executors.newFixedThreadPool(cluster.names().size(), task -> {
      Thread t = new Thread(task, "supervisor");
      t.setDaemon(true);
      return t;
    });
  }

  /** Watches every server of {@code cluster} from now on, reporting to {@code out}. */
  public static Supervisor watch(LocalCluster cluster, Policy policy, PrintStream out) {
    Supervisor supervisor = new Supervisor(cluster, policy, out);
    cluster.onUnexpectedExit(supervisor::died);
    return supervisor;
  }

  /** Reports the death and decides: a restart after a backoff, or giving up. */
  private void died(LocalCluster.Exit exit) {
    Path log = cluster.logFile(exit.name());
    StringBuilder report = new StringBuilder(PREFIX).append(exit.name()).append(" (pid ").append(exit.pid())
        .append(") died unexpectedly with exit status ").append(exit.status()).append(signalOf(exit.status()))
        .append("; the last lines of ").append(log).append(':').append(System.lineSeparator());
    for (String line : lastLines(log)) {
      report.append("  | ").append(line).append(System.lineSeparator());
    }
    long windowS = TimeUnit.MILLISECONDS.toSeconds(policy.restartWindowMs());
    int recent = recentRestarts(exit.name());
    if (recent >= policy.restartMax()) {
      report.append(PREFIX).append("giving up on ").append(exit.name()).append(": it was restarted ").append(recent)
          .append(" times within ").append(windowS).append(" s (--restart-max=").append(policy.restartMax())
          .append("); the rest of the cluster keeps running. Fix the cause (see ").append(log)
          .append(") and start the launcher again.");
      out.println(report);
      return;
    }
    long waitMs = policy.backoffMs(recent);
    report.append(PREFIX).append("restarting ").append(exit.name()).append(" in ").append(duration(waitMs))
        .append(" (restart ").append(recent + 1).append(" of at most ").append(policy.restartMax())
        .append(" within ").append(windowS).append(" s)");
    out.println(report);
    restarting.execute(() -> restart(exit, waitMs));
  }

  /** How many restarts of {@code name} fall within the window; counts a new one if under the limit. */
  private synchronized int recentRestarts(String name) {
    Deque<Long> times = restarts.computeIfAbsent(name, n -> new ArrayDeque<>());
    long now = System.nanoTime();
    while (!times.isEmpty() && now - times.peekFirst() > TimeUnit.MILLISECONDS.toNanos(policy.restartWindowMs())) {
      times.removeFirst();
    }
    int recent = times.size();
    if (recent < policy.restartMax()) {
      times.addLast(now);
    }
    return recent;
  }

  private void restart(LocalCluster.Exit exit, long waitMs) {
    String name = exit.name();
    long pid;
    try {
      Thread.sleep(waitMs);
      if (!cluster.relaunch(name, exit.pid())) {
        return; // the cluster closed, or someone stopped or started the server meanwhile
      }
      pid = cluster.pid(name);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (IOException e) {
      out.println(PREFIX + "could not start " + name + " again (" + e.getMessage() + "); giving up on it");
      return;
    }
    try {
      cluster.awaitServing(name);
      out.println(PREFIX + name + " is SERVING again (pid " + pid + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      // One that died again was reported by died(), which decided what next; one still running is not serving.
      if (cluster.pid(name) == pid && cluster.isRunning(name)) {
        out.println(PREFIX + name + " (pid " + pid + ") was started again but " + e.getMessage() + "; see "
            + cluster.logFile(name));
      }
    }
  }

  /** "2 s", or "200 ms" when not whole seconds. */
  private static String duration(long ms) {
    return ms % 1_000 == 0 ? ms / 1_000 + " s" : ms + " ms";
  }

  /** " (killed by signal 9, SIGKILL)" for a status above 128, as the JDK reports a death by signal. */
  static String signalOf(int status) {
    if (status <= 128 || status > 128 + 64) {
      return "";
    }
    int signal = status - 128;
    List<String> names = Arrays.asList(null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
        "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM");
    String name = signal < names.size() ? ", " + names.get(signal) : "";
    return " (killed by signal " + signal + name + ")";
  }

  /** The last {@value #LOG_TAIL_LINES} lines of a log, each cut to a bounded length. */
  static List<String> lastLines(Path log) {
    try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
      long length = file.length();
      int size = (int) Math.min(length, LOG_TAIL_BYTES_MAX);
      byte[] tail = new byte[size];
      file.seek(length - size);
      file.readFully(tail);
      List<String> lines = Arrays.asList(new String(tail, StandardCharsets.UTF_8).split("\\R"));
      if (size < length && !lines.isEmpty()) {
        lines = lines.subList(1, lines.size()); // the first line read is cut
      }
      if (lines.isEmpty() || lines.size() == 1 && lines.get(0).isEmpty()) {
        return List.of("(the log is empty)");
      }
      return lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()).stream()
          .map(l -> l.length() > LOG_LINE_CHARS_MAX ? l.substring(0, LOG_LINE_CHARS_MAX) + " ..." : l).toList();
    } catch (IOException e) {
      return List.of("(the log cannot be read: " + e.getMessage() + ")");
    }
  }
}
