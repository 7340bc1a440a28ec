package fortress.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * ClosedLoop's arithmetic against a fake server whose every call takes a fixed time, so the true
 * rate at N in flight is N / latency.
 */
class ClosedLoopTest {
  private static final ScheduledExecutorService timer = Executors.newScheduledThreadPool(4);

  @AfterAll
  static void stop() {
    timer.shutdownNow();
  }

  private static Supplier<ListenableFuture<Long>> fixed(long latencyMs) {
    return () -> {
      SettableFuture<Long> answer = SettableFuture.create();
      timer.schedule(() -> answer.set(1L), latencyMs, TimeUnit.MILLISECONDS);
      return answer;
    };
  }

  @Test
  void callsPerSecond_isTheTrueRate() throws Exception {
    ClosedLoop.Result r = ClosedLoop.run("fixed 100 ms", 8, 1, 2, 1, fixed(100));
    assertThat(r.callsPerSecond()).isBetween(80 * 0.9, 80 * 1.05);
    assertThat(r.latency().getValueAtPercentile(50) / 1000.0).isBetween(100.0, 130.0);
  }

  @Test
  void callsThatCompleteAfterTheWindow_areNotCounted_andNoneStartsAfterIt() throws Exception {
    AtomicLong started = new AtomicLong();
    Supplier<ListenableFuture<Long>> slow = fixed(3_000);
    ClosedLoop.Result r = ClosedLoop.run("fixed 3 s", 4, 1, 1, 0, () -> {
      started.incrementAndGet();
      return slow.get();
    });
    assertThat(r.callsPerSecond()).as("none completed in the 1 s window").isZero();
    assertThat(r.millis(50)).isEqualTo("—");
    assertThat(started.get()).as("only the first four started").isEqualTo(4);
  }

  /** The window opens when the warm-up ends, even with every call in flight, and closes on time. */
  @Test
  void theWindow_isTheMeasuredSeconds_evenWhenCallsAreSlow() throws Exception {
    long[] opened = new long[2];
    long before = System.nanoTime();
    ClosedLoop.run("fixed 700 ms", 1, 1, 2, 1, fixed(700), new ClosedLoop.Window() {
      @Override
      public void opened() {
        opened[0] = System.nanoTime() - before;
      }

      @Override
      public void closed(long calls) {
        opened[1] = calls;
      }
    });
    assertThat(TimeUnit.NANOSECONDS.toMillis(opened[0])).isBetween(1_000L, 1_150L);
    assertThat(opened[1]).as("calls completed from the opening to the last answer").isBetween(2L, 4L);
  }
}
