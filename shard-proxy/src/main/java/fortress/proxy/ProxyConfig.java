package fortress.proxy;

import fortress.core.Settings;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import fortress.core.telemetry.Telemetry;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything the shard proxy needs, read once at start-up from flags or environment variables and
 * validated as a whole. Limits carry their unit in their name.
 */
public record ProxyConfig(
    String host,
    int grpcPort,
    Path ringFile,
    int serverThreads,
    long callTimeoutMsDefault,
    int retriesMax,
    long retryBackoffMs,
    int batchOperationsMax,
    long shutdownGraceMs,
    long auditIntervalMs,
    long verifyIntervalMs,
    String redisUrl,
    long redisTimeoutMs,
    long rateLimitPerSecond,
    long rateLimitBurst,
    boolean crossTenantTransfers,
    Security security,
    Telemetry.Config telemetry) {

  public static final int GRPC_PORT_DEFAULT = 50051;
  public static final int METRICS_PORT_DEFAULT = 9464;

  /** Reads the configuration; throws IllegalArgumentException listing every problem. */
  public static ProxyConfig parse(String[] args, Map<String, String> env) {
    Settings s = new Settings(args, env);
    ProxyConfig config = read(s);
    s.finish();
    return config;
  }

  /** The --help text. */
  public static String usage() {
    Settings s = new Settings(new String[0], Map.of());
    read(s);
    return "Fortress shard proxy. Flags (or the environment variables beside them):\n" + s.usage();
  }

  private static ProxyConfig read(Settings s) {
    String host = s.string("host", "127.0.0.1", "address the gRPC server binds");
    int port = s.integer("grpc-port", GRPC_PORT_DEFAULT, 0, 65535, "gRPC port; 0 picks a free one");
    String ring = s.string("ring-file", null, "the cluster's ring (fortress.cluster.v1.Ring in text format); required");
    int threads = s.integer("server-threads", 4, 1, 512, "threads running handlers and node callbacks");
    long timeoutMs = s.number("call-timeout-ms-default", 30_000, 100, 3_600_000,
        "deadline given to a forwarded call when the client set none");
    int retries = s.integer("retries-max", 3, 0, 10,
        "retries of a call a node refused as WRONG_NODE or UNAVAILABLE (all are safe: mutations carry request_id)");
    long backoffMs = s.number("retry-backoff-ms", 50, 1, 10_000, "first retry delay; doubles on each retry");
    int batchMax = s.integer("batch-operations-max", 1_000, 1, 10_000, "operations allowed in one SubmitBatch");
    long graceMs = s.number("shutdown-grace-ms", 10_000, 0, 600_000, "how long shutdown waits for in-flight calls");
    long auditMs = s.number("audit-interval-ms", 60_000, 0, 86_400_000, "how often the cluster's totals are "
        + "checked for conservation and published as metrics; 0 never");
    long verifyMs = s.number("verify-interval-ms", 600_000, 0, 86_400_000, "how often every node's journal is "
        + "verified and the result published as a metric; 0 never");
    String redis = s.secretText("redis-url", "Redis for rate limits shared by every proxy, e.g. "
        + "redis://host:6379 (rediss:// for TLS; a password goes in the URL); unset: in-process limits");
    long redisTimeoutMs = s.number("redis-timeout-ms", 100, 1, 60_000,
        "how long a Redis command may take before the proxy falls back without it");
    long ratePerSecond = s.number("rate-limit-per-second", 0, 0, 10_000_000,
        "each tenant's sustained calls per second (a SubmitBatch counts its operations); 0 means no limit");
    long burst = s.number("rate-limit-burst", 0, 0, 100_000_000,
        "each tenant's bucket size; 0 means twice --rate-limit-per-second");
    boolean crossTenant = s.bool("cross-tenant-transfers", false, "let a transfer credit another tenant's account "
        + "(to_tenant_id); otherwise that is PERMISSION_DENIED / TENANT_FORBIDDEN");
    if (redis != null && !redis.matches("rediss?://.+")) {
      s.problem("--redis-url must start with redis:// or rediss://");
    }
    Security security = Security.read(s, Tokens.Policy.LEDGER, true);
    Telemetry.Config telemetry = Telemetry.Config.read(s, "fortress-proxy", "proxy", METRICS_PORT_DEFAULT);
    if (ring == null) {
      s.problem("--ring-file is required: the proxy routes by the cluster's ring");
    }
    return new ProxyConfig(host, port, ring == null ? null : Path.of(ring), threads, timeoutMs, retries, backoffMs,
        batchMax, graceMs, auditMs, verifyMs, redis, redisTimeoutMs, ratePerSecond,
        burst == 0 ? 2 * ratePerSecond : burst, crossTenant, security, telemetry);
  }

  @Override
  public String toString() {
    // The Redis URL may hold a password: only say whether it is set.
    return "ProxyConfig[host=" + host + ", grpcPort=" + grpcPort + ", ringFile=" + ringFile + ", redis="
        + (redisUrl == null ? "none" : "set") + ", rateLimitPerSecond=" + rateLimitPerSecond + ", rateLimitBurst="
        + rateLimitBurst + ", " + security.describe() + "]";
  }
}
