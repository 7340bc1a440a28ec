package fortress.bench;

import static com.google.common.base.Preconditions.checkState;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What server processes spent during one run's measured window: the CPU time (user and system,
 * every thread, as the kernel counts it in {@code /proc/<pid>/stat}) each spent, divided by the
 * calls completed in the window, and the window's wall-clock range, which {@link Profiles} slices
 * its recordings by. The kernel counts CPU time in 10 ms ticks, so a process that spent under a
 * second of CPU in the window ({@link #coarse}) has a figure off by up to a tick in a hundred or
 * more: at one call in flight, often tens of percent.
 */
final class ServerCost implements ClosedLoop.Window {
  private final Map<String, ProcessHandle> servers;
  private final Map<String, Duration> atOpen = new LinkedHashMap<>();
  private final Map<String, Double> microsPerCall = new LinkedHashMap<>();
  private final Map<String, Duration> spent = new LinkedHashMap<>();
  private Instant from;
  private Instant to;

  /** Watches these processes, by name, in this order. */
  ServerCost(Map<String, Long> pids) {
    this.servers = new LinkedHashMap<>();
    pids.forEach((name, pid) -> servers.put(name, ProcessHandle.of(pid)
        .orElseThrow(() -> new IllegalStateException(name + " (pid " + pid + ") is not running"))));
  }

  @Override
  public void opened() {
    servers.forEach((name, p) -> atOpen.put(name, cpu(name, p)));
    from = Instant.now();
  }

  @Override
  public void closed(long calls) {
    checkState(from != null, "the window closed before it opened");
    to = Instant.now();
    servers.forEach((name, p) -> {
      Duration cpu = cpu(name, p).minus(atOpen.get(name));
      spent.put(name, cpu);
      microsPerCall.put(name, calls == 0 ? Double.NaN : cpu.toNanos() / 1000.0 / calls);
    });
  }

  /** Whether the named server spent under a second of CPU in the window: its figure is coarse. */
  boolean coarse(String name) {
    checkState(to != null, "the window has not closed");
    return spent.get(name).compareTo(Duration.ofSeconds(1)) < 0;
  }

  /** CPU µs per completed call of the named server; NaN if no call completed. */
  double microsPerCall(String name) {
    checkState(to != null, "the window has not closed");
    Double v = microsPerCall.get(name);
    checkState(v != null, "%s was not watched", name);
    return v;
  }

  Instant from() {
    return from;
  }

  Instant to() {
    return to;
  }

  private static Duration cpu(String name, ProcessHandle p) {
    return p.info().totalCpuDuration().orElseThrow(
        () -> new IllegalStateException("the CPU time of " + name + " (pid " + p.pid() + ") cannot be read"));
  }
}
