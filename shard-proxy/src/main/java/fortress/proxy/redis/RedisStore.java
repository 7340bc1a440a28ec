package fortress.proxy.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.opentelemetry.api.metrics.Meter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's Redis, through one Lettuce connection. Every command has a short timeout and fails
 * at once while the connection is down (no queueing), so callers fall back instead of waiting.
 * Lettuce reconnects by itself once connected; if Redis is down when the proxy starts, a
 * connection is tried again every few seconds. Scripts run by EVALSHA, loaded again when Redis
 * has lost them (a restart).
 */
public final class RedisStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisStore.class);
  private static final long CONNECT_RETRY_MS = 2_000;

  /** A Lua script and its SHA-1. */
  public record Script(String name, String body, String sha) {
    static Script load(String name) {
      try (InputStream in = RedisStore.class.getResourceAsStream(name + ".lua")) {
        String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return new Script(name, body, HexFormat.of().formatHex(
            MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8))));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the " + name + " script", e);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  public static final Script TOKEN_BUCKET = Script.load("token-bucket");

  private final RedisClient client;
  private final String where;
  private final ScheduledExecutorService timer;
  private volatile StatefulRedisConnection<String, String> connection;
  private volatile boolean closed;

  private RedisStore(RedisClient client, String where, ScheduledExecutorService timer) {
    this.client = client;
    this.where = where;
    this.timer = timer;
  }

  /** Connects to {@code url} (redis:// or rediss://), or keeps trying in the background. */
  public static RedisStore connect(String url, long timeoutMs, ScheduledExecutorService timer, Meter meter) {
    RedisURI uri = RedisURI.create(url);
    uri.setTimeout(Duration.ofMillis(timeoutMs));
    RedisClient client = RedisClient.create(uri);
    client.setOptions(ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(Duration.ofMillis(timeoutMs)))
        .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofMillis(Math.max(timeoutMs, 1_000))).build())
        .build());
    RedisStore store = new RedisStore(client, uri.getHost() + ":" + uri.getPort(), timer);
    meter.gaugeBuilder("fortress.proxy.redis.connected").ofLongs()
        .setDescription("1 while the proxy's Redis connection is up, 0 while it is down or never made")
        .buildWithCallback(m -> m.record(store.connected() ? 1 : 0));
    store.tryConnect();
    return store;
  }

  private void tryConnect() {
    if (closed) {
      return;
    }
    try {
      connection = client.connect();
      log.info("Redis connected at {}", where);
    } catch (RuntimeException e) {
      log.warn("Redis at {} is unreachable ({}); limits are in-process until it is back",
          where, e.getMessage());
      timer.schedule(this::tryConnect, CONNECT_RETRY_MS, TimeUnit.MILLISECONDS);
    }
  }

  public boolean connected() {
    StatefulRedisConnection<String, String> c = connection;
    return c != null && c.isOpen();
  }

  /** Runs a script on one key; fails at once if Redis is not connected. */
  public CompletableFuture<List<Object>> eval(Script script, String key, String... args) {
    StatefulRedisConnection<String, String> c = connection;
    if (c == null || !c.isOpen()) {
      return CompletableFuture.failedFuture(new IllegalStateException("Redis is not connected"));
    }
    String[] keys = {key};
    CompletableFuture<List<Object>> first = c.async().<List<Object>>evalsha(script.sha(), ScriptOutputType.MULTI,
        keys, args).toCompletableFuture();
    return first.handle((v, e) -> {
      if (e == null) {
        return CompletableFuture.completedFuture(v);
      }
      if (String.valueOf(e.getMessage()).contains("NOSCRIPT")) {
        return c.async().<List<Object>>eval(script.body(), ScriptOutputType.MULTI, keys, args).toCompletableFuture();
      }
      return CompletableFuture.<List<Object>>failedFuture(e);
    }).thenCompose(f -> f);
  }

  @Override
  public void close() {
    closed = true;
    StatefulRedisConnection<String, String> c = connection;
    if (c != null) {
      c.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
