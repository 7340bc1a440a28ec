package fortress.shadow;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.Settings;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import fortress.core.telemetry.Telemetry;
import fortress.shadow.rollout.TenantEvidence;
import fortress.shadow.rule.RuleCompiler;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything the shadow server needs, read once at start-up from flags or environment variables
 * and validated as a whole. Limits carry their unit in their name. With no {@code jdbcUrl} the
 * server starts an embedded PostgreSQL in {@code dataDir} with durable settings.
 */
public record ShadowConfig(
    String host,
    int grpcPort,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    Path dataDir,
    int poolSizeMax,
    int serverThreads,
    int evaluationThreads,
    long ruleCostMax,
    long ruleEvaluationTimeoutMs,
    int ruleCacheSizeMax,
    int samplesPerCallMax,
    long datasetSamplesMax,
    long evaluationSamplesMax,
    long rolloutCheckIntervalMs,
    int disagreementQueueDepthMax,
    double rolloutTenantShareMax,
    int pageSizeDefault,
    int pageSizeMax,
    long shutdownGraceMs,
    Security security,
    Telemetry.Config telemetry) {

  public static final int GRPC_PORT_DEFAULT = 50071;
  public static final int METRICS_PORT_DEFAULT = 9466;
  public static final int POOL_SIZE_MAX_DEFAULT = 8;
  public static final int SERVER_THREADS_DEFAULT = 8;
  public static final int EVALUATION_THREADS_DEFAULT = 1;
  public static final long RULE_COST_MAX_DEFAULT = 10_000;
  public static final long RULE_EVALUATION_TIMEOUT_MS_DEFAULT = RuleCompiler.EVALUATION_TIMEOUT_MS_DEFAULT;
  public static final int RULE_CACHE_SIZE_MAX_DEFAULT = 10_000;
  public static final int SAMPLES_PER_CALL_MAX_DEFAULT = 10_000;
  public static final long DATASET_SAMPLES_MAX_DEFAULT = 10_000_000;
  public static final long EVALUATION_SAMPLES_MAX_DEFAULT = 10_000_000;
  public static final long ROLLOUT_CHECK_INTERVAL_MS_DEFAULT = 1_000;
  public static final int DISAGREEMENT_QUEUE_DEPTH_MAX_DEFAULT = 10_000;
  /** With tokens on; without tokens there are no tenants and the default is 1. */
  public static final double ROLLOUT_TENANT_SHARE_MAX_DEFAULT = TenantEvidence.TENANT_SHARE_MAX_DEFAULT;
  public static final double ROLLOUT_TENANT_SHARE_MAX_MIN = 0.01;
  public static final int PAGE_SIZE_DEFAULT = 100;
  public static final int PAGE_SIZE_MAX_DEFAULT = 1_000;
  public static final long SHUTDOWN_GRACE_MS_DEFAULT = 10_000;

  public ShadowConfig {
    checkArgument(rolloutTenantShareMax >= ROLLOUT_TENANT_SHARE_MAX_MIN && rolloutTenantShareMax <= 1,
        "rollout-tenant-share-max (%s) must be from %s to 1", rolloutTenantShareMax, ROLLOUT_TENANT_SHARE_MAX_MIN);
    checkArgument(pageSizeDefault <= pageSizeMax, "page-size-default (%s) must not exceed page-size-max (%s)",
        pageSizeDefault, pageSizeMax);
  }

  public boolean embedded() {
    return jdbcUrl == null;
  }

  /** Reads the configuration; throws IllegalArgumentException listing every problem. */
  public static ShadowConfig parse(String[] args, Map<String, String> env) {
    return Settings.parse(args, env, ShadowConfig::read);
  }

  /** The --help text. */
  public static String usage() {
    return Settings.usage("Fortress shadow server.", ShadowConfig::read);
  }

  private static ShadowConfig read(Settings s) {
    String host = s.string("host", "127.0.0.1", "address the gRPC server binds");
    int grpcPort = s.integer("grpc-port", GRPC_PORT_DEFAULT, 0, 65535, "gRPC port; 0 picks a free one");
    String jdbcUrl = s.string("jdbc-url", null, "PostgreSQL JDBC URL; unset starts an embedded PostgreSQL");
    String jdbcUser = s.string("jdbc-user", "postgres", "PostgreSQL user");
    String jdbcPassword = s.string("jdbc-password", "", "PostgreSQL password (prefer the environment)");
    Path dataDir = Path.of(s.string("data-dir", ".fortress/shadow", "embedded PostgreSQL data"));
    int pool = s.integer("pool-size-max", POOL_SIZE_MAX_DEFAULT, 2, 256, "database connections");
    int threads = s.integer("server-threads", SERVER_THREADS_DEFAULT, 1, 512, "threads running RPC handlers");
    int evalThreads = s.integer("evaluation-threads", EVALUATION_THREADS_DEFAULT, 1, 64,
        "evaluation jobs run at once; more wait in line");
    long costMax = s.number("rule-cost-max", RULE_COST_MAX_DEFAULT, 10, 10_000_000,
        "largest estimated cost of a rule expression; dearer ones are refused at CreateRule");
    long timeoutMs = s.number("rule-evaluation-timeout-ms", RULE_EVALUATION_TIMEOUT_MS_DEFAULT, 1, 60_000,
        "CPU time one evaluation of a rule with a comprehension or a regular expression may take; past it the "
            + "evaluation stops and counts as an error (the rule does not match: Decide goes on without it, an "
            + "evaluation counts the sample in errors)");
    int cacheMax = s.integer("rule-cache-size-max", RULE_CACHE_SIZE_MAX_DEFAULT, 16, 1_000_000,
        "compiled rule programs kept in memory");
    int perCall = s.integer("samples-per-call-max", SAMPLES_PER_CALL_MAX_DEFAULT, 1, 100_000,
        "samples one RecordSamples call may carry");
    long datasetMax = s.number("dataset-samples-max", DATASET_SAMPLES_MAX_DEFAULT, 1, 1_000_000_000,
        "samples one dataset may hold");
    long evalMax = s.number("evaluation-samples-max", EVALUATION_SAMPLES_MAX_DEFAULT, 1, 1_000_000_000,
        "samples one evaluation reads at most");
    long checkMs = s.number("rollout-check-interval-ms", ROLLOUT_CHECK_INTERVAL_MS_DEFAULT, 10, 600_000,
        "how often the running rollout stage is judged");
    int queueMax = s.integer("disagreement-queue-depth-max", DISAGREEMENT_QUEUE_DEPTH_MAX_DEFAULT, 1, 1_000_000,
        "disagreements waiting to be written before new ones are dropped (and counted)");
    int pageDefault = s.integer("page-size-default", PAGE_SIZE_DEFAULT, 1, 10_000, "list page size when 0 is asked");
    int pageMax = s.integer("page-size-max", PAGE_SIZE_MAX_DEFAULT, 1, 10_000, "largest list page");
    long graceMs = s.number("shutdown-grace-ms", SHUTDOWN_GRACE_MS_DEFAULT, 0, 600_000,
        "how long shutdown waits for in-flight calls");
    String share = s.string("rollout-tenant-share-max", null, "the largest share of a rollout arm's counted "
        + "outcomes that one tenant may make up, 0.01-1: the default of a rollout's thresholds.tenant_share_max. "
        + "Below 1 an arm needs outcomes from at least 1/share tenants, and a stage steps by itself only if no one "
        + "tenant's outcomes decide it; 1 for a deployment with one tenant or only trusted gateways. Default "
        + ROLLOUT_TENANT_SHARE_MAX_DEFAULT + " with tokens, 1 without (no tenants)");
    Security security = Security.read(s, Tokens.Policy.SHADOW, false);
    double shareMax = security.tokens().enabled() ? ROLLOUT_TENANT_SHARE_MAX_DEFAULT : 1;
    if (share != null) {
      try {
        shareMax = Double.parseDouble(share);
      } catch (NumberFormatException e) {
        s.problem("--rollout-tenant-share-max=" + share + " is not a number: use a value from "
            + ROLLOUT_TENANT_SHARE_MAX_MIN + " to 1");
      }
    }
    Telemetry.Config telemetry = Telemetry.Config.read(s, "fortress-shadow", "shadow", METRICS_PORT_DEFAULT);
    try {
      return new ShadowConfig(host, grpcPort, jdbcUrl, jdbcUser, jdbcPassword, dataDir, pool, threads, evalThreads,
          costMax, timeoutMs, cacheMax, perCall, datasetMax, evalMax, checkMs, queueMax, shareMax, pageDefault, pageMax,
          graceMs, security, telemetry);
    } catch (IllegalArgumentException e) {
      s.problem(e.getMessage());
      return null;
    }
  }

  /** A copy pointing at a database; used by the embedded start-up path. */
  public ShadowConfig withJdbc(String url, String user, String password) {
    return new ShadowConfig(host, grpcPort, url, user, password, dataDir, poolSizeMax, serverThreads,
        evaluationThreads, ruleCostMax, ruleEvaluationTimeoutMs, ruleCacheSizeMax, samplesPerCallMax,
        datasetSamplesMax, evaluationSamplesMax, rolloutCheckIntervalMs, disagreementQueueDepthMax,
        rolloutTenantShareMax, pageSizeDefault, pageSizeMax, shutdownGraceMs, security, telemetry);
  }

  @Override
  public String toString() {
    return "ShadowConfig[host=" + host + ", grpcPort=" + grpcPort + ", database="
        + (embedded() ? "embedded in " + dataDir : jdbcUrl.replaceAll("password=[^&]*", "password=***"))
        + ", ruleCostMax=" + ruleCostMax + ", ruleEvaluationTimeoutMs=" + ruleEvaluationTimeoutMs
        + ", rolloutCheckIntervalMs=" + rolloutCheckIntervalMs + ", rolloutTenantShareMax=" + rolloutTenantShareMax
        + ", " + security.describe() + "]";
  }
}
