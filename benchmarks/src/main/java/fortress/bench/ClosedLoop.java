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
    double p50() {
      return latency.getValueAtPercentile(50) / 1000.0;
    }

    double p99() {
      return latency.getValueAtPercentile(99) / 1000.0;
    }

    double p999() {
      return latency.getValueAtPercentile(99.9) / 1000.0;
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

  /** The same, telling {@code window} when the measured seconds start and when they are over. */
  static <T> Result run(String name, int inFlight, int opsPerCall, int seconds, int warmup,
      Supplier<ListenableFuture<T>> call, Window window) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicLong completed = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    Semaphore slots = new Semaphore(inFlight);
    long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
    long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
    boolean measuring = false;
    while (true) {
      long now = System.nanoTime();
      // Opened even when a slot frees only after the end (a stalled server): the window is then empty.
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        recorder.reset();
        completed.set(0);
        errors.set(0);
        window.opened();
      }
      if (now >= end) {
        break;
      }
      slots.acquire();
      long start = System.nanoTime();
      Futures.addCallback(call.get(), new FutureCallback<T>() {
        @Override
        public void onSuccess(T result) {
          recorder.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
          completed.incrementAndGet();
          slots.release();
        }

        @Override
        public void onFailure(Throwable t) {
          if (errors.getAndIncrement() == 0) {
            System.err.println("  first error in " + name + ": " + t);
          }
          slots.release();
        }
      }, MoreExecutors.directExecutor());
    }
    slots.acquire(inFlight);
    window.closed(completed.get());
    Histogram latency = recorder.getIntervalHistogram();
    double calls = completed.get() / (double) seconds;
    Result r = new Result(name, inFlight, calls, calls * opsPerCall, latency, errors.get());
    System.err.printf("%-40s in flight %4d: %10.0f calls/s  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  errors %d%n",
        name, inFlight, calls, r.p50(), r.p99(), r.p999(), r.errors());
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
      System.out.printf("| %s | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %d | %s |%n", r.scenario(), r.inFlight(),
          r.callsPerSecond(), r.opsPerSecond(), r.p50(), r.p99(), r.p999(), r.errors(), ratio);
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
