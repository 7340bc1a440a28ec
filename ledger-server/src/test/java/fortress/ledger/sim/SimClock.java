package fortress.ledger.sim;

import com.google.common.base.Ticker;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A node's wall clock: simulated time plus the node's own offset, which the simulation makes jump
 * (forward, and now and then back), as NTP corrections and paused VMs do. Timeouts measured by the
 * network use simulated time itself.
 */
final class SimClock extends Clock {
  /** Simulated time 0 is this wall-clock time, so timestamps look real. */
  static final long EPOCH_MICROS = 1_800_000_000_000_000L;

  private final Scheduler scheduler;
  private long offsetMicros;

  SimClock(Scheduler scheduler) {
    this.scheduler = scheduler;
  }

  void jump(long micros) {
    offsetMicros += micros;
  }

  long micros() {
    return EPOCH_MICROS + scheduler.nowMicros() + offsetMicros;
  }

  /** Simulated time itself, which never jumps: the node's monotonic time. */
  Ticker ticker() {
    return new Ticker() {
      @Override
      public long read() {
        return scheduler.nowMicros() * 1000;
      }
    };
  }

  @Override
  public long millis() {
    return micros() / 1000;
  }

  @Override
  public Instant instant() {
    long m = micros();
    return Instant.ofEpochSecond(Math.floorDiv(m, 1_000_000), Math.floorMod(m, 1_000_000) * 1000);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("simulated clocks are UTC");
  }
}
