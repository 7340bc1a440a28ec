package fortress.decoy.http;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.time.Duration;
import java.util.concurrent.ExecutionException;

/**
 * A token bucket per client IP: {@code burst} requests at once, refilled at {@code ratePerSecond}.
 * Idle clients are forgotten after a minute and at most {@link #CLIENTS_MAX} are tracked, so a
 * flood from many addresses cannot grow memory without bound.
 */
final class RateLimiter {
  static final int CLIENTS_MAX = 100_000;

  private final double ratePerNano;
  private final int burst;
  private final Cache<String, Bucket> buckets = CacheBuilder.newBuilder().maximumSize(CLIENTS_MAX)
      .expireAfterAccess(Duration.ofMinutes(1)).build();

  RateLimiter(int ratePerSecond, int burst) {
    this.ratePerNano = ratePerSecond / 1e9;
    this.burst = burst;
  }

  private final class Bucket {
    private double tokens = burst;
    private long last = System.nanoTime();

    synchronized boolean take() {
      long now = System.nanoTime();
      tokens = Math.min(burst, tokens + (now - last) * ratePerNano);
      last = now;
      if (tokens < 1) {
        return false;
      }
      tokens -= 1;
      return true;
    }
  }

  /** Whether the client may make one more request now. */
  boolean allow(String client) {
    try {
      return buckets.get(client, Bucket::new).take();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }
}
