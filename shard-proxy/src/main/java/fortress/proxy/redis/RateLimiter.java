package fortress.proxy.redis;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Per-tenant token buckets: {@code ratePerSecond} tokens a second up to {@code burst}; a call
 * costs one token per operation. In Redis (one Lua script, so every proxy shares each tenant's
 * bucket) when it is configured and up; otherwise in this process, so the proxy keeps serving and
 * each proxy enforces the limit on its own share of the traffic.
 */
public final class RateLimiter {
  private static final AttributeKey<String> STORE = AttributeKey.stringKey("store");
  private static final Attributes REDIS = Attributes.of(STORE, "redis");
  private static final Attributes LOCAL = Attributes.of(STORE, "local");

  /** Allowed, or not and how long until it would be. */
  public record Verdict(boolean allowed, long retryAfterMs) {
    static final Verdict YES = new Verdict(true, 0);
  }

  private final RedisStore redis;
  private final double ratePerSecond;
  private final long burst;
  private final Cache<String, LocalBucket> local = CacheBuilder.newBuilder()
      .expireAfterAccess(Duration.ofMinutes(10)).maximumSize(100_000).build();
  private final LongCounter rejections;
  private final Fallback fallback;

  /** {@code redis} null means in-process only. */
  public RateLimiter(RedisStore redis, double ratePerSecond, long burst, Meter meter) {
    this.redis = redis;
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.rejections = meter.counterBuilder("fortress.proxy.rate_limit.rejections").setUnit("{call}")
        .setDescription("calls refused with RESOURCE_EXHAUSTED / RATE_LIMITED, by where the bucket lives").build();
    this.fallback = new Fallback(meter, "rate_limit", "limiting in this process", "rate limits are shared again");
  }

  /** Takes {@code cost} tokens from the tenant's bucket (at most a full bucket). */
  public CompletableFuture<Verdict> acquire(String tenant, long cost) {
    long tokens = Math.max(1, Math.min(cost, burst));
    if (redis == null) {
      return CompletableFuture.completedFuture(counted(local(tenant, tokens), LOCAL));
    }
    if (!redis.connected()) {
      return CompletableFuture.completedFuture(fallBack(tenant, tokens, "not connected"));
    }
    return redis.eval(RedisStore.TOKEN_BUCKET, Keys.bucket(tenant), Double.toString(ratePerSecond),
            Long.toString(burst), Long.toString(tokens))
        .handle((answer, e) -> {
          if (e != null) {
            return fallBack(tenant, tokens, e.toString());
          }
          fallback.answered();
          return counted(verdict(answer), REDIS);
        });
  }

  private Verdict fallBack(String tenant, long tokens, String why) {
    fallback.fellBack(why);
    return counted(local(tenant, tokens), LOCAL);
  }

  private Verdict counted(Verdict v, Attributes store) {
    if (!v.allowed()) {
      rejections.add(1, store);
    }
    return v;
  }

  private static Verdict verdict(List<Object> answer) {
    long allowed = ((Number) answer.get(0)).longValue();
    return allowed == 1 ? Verdict.YES : new Verdict(false, ((Number) answer.get(1)).longValue());
  }

  private Verdict local(String tenant, long tokens) {
    try {
      return local.get(tenant, () -> new LocalBucket(burst, System.nanoTime())).take(tokens, ratePerSecond, burst);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The in-process bucket: the same arithmetic as the Lua script. */
  private static final class LocalBucket {
    private double tokens;
    private long lastNanos;

    LocalBucket(double tokens, long nowNanos) {
      this.tokens = tokens;
      this.lastNanos = nowNanos;
    }

    synchronized Verdict take(long cost, double ratePerSecond, long burst) {
      long now = System.nanoTime();
      tokens = Math.min(burst, tokens + (now - lastNanos) / 1e9 * ratePerSecond);
      lastNanos = now;
      if (tokens >= cost) {
        tokens -= cost;
        return Verdict.YES;
      }
      return new Verdict(false, (long) Math.ceil((cost - tokens) * 1000 / ratePerSecond));
    }
  }
}
