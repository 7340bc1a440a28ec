package fortress.bench;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The load loop both benchmarks share: N calls in flight at all times on async stubs, latency in
 * HdrHistogram, and a Markdown table whose ratios compare each scenario with a baseline measured
 * at the same concurrency in the same run.
 */
final class ClosedLoop {
  private ClosedLoop() {}

  record Result(String scenario, int inFlight, double callsPerSecond, double opsPerSecond, Histogram latency,
      long errors) {
    /**
     * The percentile in ms, "—" when no call completed in the window. With fewer than 1,000
     * samples p99.9 is the slowest call, and with fewer than 100 so is p99.
     */
    String millis(double percentile) {
      return latency.getTotalCount() == 0 ? "—"
          : String.format("%.2f", latency.getValueAtPercentile(percentile) / 1000.0);
    }
  }

  /**
   * Told when a run's measured window opens (after the warm-up) and when it closes (every call
   * started in it has answered), with the calls completed in it: what a caller measures beside
   * latency (a server's CPU time, a profile) covers exactly that window.
   */
  interface Window {
    Window NONE = new Window() {};

    default void opened() {}

    default void closed(long calls) {}
  }

  /** Runs {@code call} with {@code inFlight} outstanding, for warmup then measured seconds. */
  static <T> Result run(String name, int inFlight, int opsPerCall, int seconds, int warmup,
      Supplier<ListenableFuture<T>> call) throws InterruptedException {
    return run(name, inFlight, opsPerCall, seconds, warmup, call, Window.NONE);
  }

  /**
   * The same, telling {@code window} when the measured seconds start and when they are over. The
   * window is exactly the measured seconds after the warm-up: calls/s and latency count the calls
   * that completed inside it (a call that completes after it is not counted, whenever it
   * started), and no call starts once it has ended. {@code window} hears of its close once every
   * call has answered, with the calls completed since it opened.
   */
  static <T> Result run(String name, int inFlight, int opsPerCall, int seconds, int warmup,
      Supplier<ListenableFuture<T>> call, Window window) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicLong inWindow = new AtomicLong();
    AtomicLong sinceOpen = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    Semaphore slots = new Semaphore(inFlight);
    long open = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
    long end = open + TimeUnit.SECONDS.toNanos(seconds);
    boolean measuring = false;
    while (true) {
      long now = System.nanoTime();
      if (!measuring && now >= open) {
        measuring = true;
        window.opened();
      }
      if (now >= end) {
        break;
      }
      // Wakes at the window's opening and end even when no slot frees (a stalled server).
      if (!slots.tryAcquire((measuring ? end : open) - now, TimeUnit.NANOSECONDS)) {
        continue;
      }
      long start = System.nanoTime();
      if (start >= end) {
        slots.release();
        break;
      }
      Futures.addCallback(call.get(), new FutureCallback<T>() {
        @Override
        public void onSuccess(T result) {
          long done = System.nanoTime();
          if (done >= open) {
            sinceOpen.incrementAndGet();
            if (done < end) {
              recorder.recordValue(Math.max(1, (done - start) / 1000));
              inWindow.incrementAndGet();
            }
          }
          slots.release();
        }

        @Override
        public void onFailure(Throwable t) {
          long done = System.nanoTime();
          if (done >= open && done < end && errors.getAndIncrement() == 0) {
            System.err.println("  first error in " + name + ": " + t);
          }
          slots.release();
        }
      }, MoreExecutors.directExecutor());
    }
    slots.acquire(inFlight);
    window.closed(sinceOpen.get());
    Histogram latency = recorder.getIntervalHistogram();
    double calls = inWindow.get() / (double) seconds;
    Result r = new Result(name, inFlight, calls, calls * opsPerCall, latency, errors.get());
    System.err.printf("%-40s in flight %4d: %10.0f calls/s  p50 %s ms  p99 %s ms  p99.9 %s ms  errors %d%n",
        name, inFlight, calls, r.millis(50), r.millis(99), r.millis(99.9), r.errors());
    return r;
  }

  /** Prints the results; the last column compares operations/s with {@code baseline} at the same in-flight. */
  static void print(List<Result> results, String baseline) {
    System.out.println();
    System.out.println("| scenario | in flight | calls/s | operations/s | p50 ms | p99 ms | p99.9 ms | errors | vs "
        + baseline + " (same in flight) |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Result r : results) {
      double base = results.stream().filter(e -> e.scenario().equals(baseline) && e.inFlight() == r.inFlight())
          .mapToDouble(Result::callsPerSecond).findFirst().orElse(Double.NaN);
      String ratio = Double.isNaN(base) ? "—" : String.format("%.0f%%", 100 * r.opsPerSecond() / base);
      System.out.printf("| %s | %d | %.0f | %.0f | %s | %s | %s | %d | %s |%n", r.scenario(), r.inFlight(),
          r.callsPerSecond(), r.opsPerSecond(), r.millis(50), r.millis(99), r.millis(99.9), r.errors(), ratio);
    }
  }

  static ManagedChannel channel(String target) {
    return NettyChannelBuilder.forTarget(target).usePlaintext().build();
  }

  static void deleteTree(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not delete " + dir + ": " + e.getMessage());
    }
  }
}
