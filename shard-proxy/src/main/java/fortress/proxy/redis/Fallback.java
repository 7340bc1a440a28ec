package fortress.proxy.redis;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One use of Redis going on without it: each call served without Redis is counted in
 * {@code fortress.proxy.redis.fallbacks} under the use's name, and the switch is logged once each
 * way (down, back), not once per call.
 */
final class Fallback {
  private static final Logger log = LoggerFactory.getLogger(Fallback.class);

  private final Attributes use;
  private final String whileDown;
  private final String onceBack;
  private final LongCounter fallbacks;
  private final AtomicBoolean degraded = new AtomicBoolean();

  /** {@code whileDown} says what the proxy does without Redis; {@code onceBack} what it does again. */
  Fallback(Meter meter, String use, String whileDown, String onceBack) {
    this.use = Attributes.of(AttributeKey.stringKey("use"), use);
    this.whileDown = whileDown;
    this.onceBack = onceBack;
    this.fallbacks = meter.counterBuilder("fortress.proxy.redis.fallbacks").setUnit("{call}")
        .setDescription("calls served without Redis because it was down or slow, by use").build();
  }

  /** A call served without Redis, because of {@code why}. */
  void fellBack(String why) {
    fallbacks.add(1, use);
    if (degraded.compareAndSet(false, true)) {
      log.warn("Redis unavailable ({}); {} until it is back", why, whileDown);
    }
  }

  /** A call Redis answered. */
  void answered() {
    if (degraded.compareAndSet(true, false)) {
      log.info("Redis is back: {}", onceBack);
    }
  }
}
