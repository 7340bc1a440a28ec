package fortress.decoy.generate;

import com.google.protobuf.Timestamp;
import fortress.decoy.v1.LogLevel;
import fortress.decoy.v1.LogLine;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic application log lines from templates. Times follow a weekly rhythm (quieter
 * weekends) and a daily one; {@link #ERROR_RATE} of lines are errors, {@link #WARN_RATE} warnings.
 */
public final class Logs {
  public static final double ERROR_RATE = 0.035;
  public static final double WARN_RATE = 0.08;
  /** Monday to Sunday. */
  public static final Weighted WEEKDAY = new Weighted(1.1, 1.15, 1.15, 1.1, 1.0, 0.75, 0.7);
  public static final Weighted HOUR = Transactions.HOUR;
  private static final long FIRST_MONDAY = 1_767_571_200L; // 2026-01-05T00:00:00Z

  /** A message template: its name, the service that logs it, and how its variables are filled. */
  private record Template(String name, String service, Filler filler) {}

  @FunctionalInterface
  private interface Filler {
    String fill(SplittableRandom r);
  }

  private static final String[] PATHS = {"/api/v1/orders", "/api/v1/users/me", "/api/v1/cart", "/api/v1/search",
      "/login", "/static/app.js"};
  private static final String[] DECLINES = {"insufficient funds", "card expired", "suspected fraud",
      "issuer unavailable"};
  private static final String[] UPSTREAMS = {"inventory", "payments-gateway", "recommendations", "geo-ip"};

  private static final List<Template> INFO = List.of(
      new Template("order_placed", "checkout", r -> "order o-" + r.nextInt(1_000_000) + " placed by user u-"
          + r.nextInt(100_000) + " total=" + (r.nextInt(50_000) + 100) / 100.0 + " USD"),
      new Template("signed_in", "auth", r -> "user u-" + r.nextInt(100_000) + " signed in from " + ip(r)),
      new Template("http_access", "api", r -> "GET " + PATHS[r.nextInt(PATHS.length)] + " 200 "
          + (2 + r.nextInt(180)) + "ms"),
      new Template("search_done", "search", r -> "query returned " + r.nextInt(500) + " results in "
          + (5 + r.nextInt(300)) + "ms"));
  private static final List<Template> WARN = List.of(
      new Template("sign_in_failed", "auth", r -> "failed sign-in for user u-" + r.nextInt(100_000) + " from "
          + ip(r) + " (attempt " + (1 + r.nextInt(5)) + ")"),
      new Template("stock_low", "inventory", r -> "stock for sku SKU-" + (10_000 + r.nextInt(90_000))
          + " below threshold (" + r.nextInt(10) + " left)"));
  private static final List<Template> ERROR = List.of(
      new Template("payment_declined", "payments", r -> "payment p-" + r.nextInt(1_000_000) + " declined: "
          + DECLINES[r.nextInt(DECLINES.length)]),
      new Template("upstream_timeout", "api", r -> "upstream " + UPSTREAMS[r.nextInt(UPSTREAMS.length)]
          + " timed out after " + (1_000 + r.nextInt(9_000)) + "ms"));

  private Logs() {}

  public static LogLine generate(SplittableRandom random) {
    double u = random.nextDouble();
    LogLevel level = u < ERROR_RATE ? LogLevel.LOG_LEVEL_ERROR
        : u < ERROR_RATE + WARN_RATE ? LogLevel.LOG_LEVEL_WARN : LogLevel.LOG_LEVEL_INFO;
    List<Template> pool = switch (level) {
      case LOG_LEVEL_ERROR -> ERROR;
      case LOG_LEVEL_WARN -> WARN;
      default -> INFO;
    };
    Template t = pool.get(random.nextInt(pool.size()));
    long seconds = FIRST_MONDAY + random.nextInt(52) * 7 * 86_400L + WEEKDAY.sample(random) * 86_400L
        + HOUR.sample(random) * 3_600L + random.nextInt(3_600);
    int millis = random.nextInt(1_000);
    String message = t.filler().fill(random);
    String line = Instant.ofEpochSecond(seconds, millis * 1_000_000L) + " "
        + level.name().substring("LOG_LEVEL_".length()) + " [" + t.service() + "] " + message;
    return LogLine.newBuilder()
        .setTime(Timestamp.newBuilder().setSeconds(seconds).setNanos(millis * 1_000_000))
        .setLevel(level)
        .setService(t.service())
        .setMessage(message)
        .setTemplate(t.name())
        .setLine(line)
        .build();
  }

  private static String ip(SplittableRandom r) {
    return (1 + r.nextInt(223)) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
  }
}
