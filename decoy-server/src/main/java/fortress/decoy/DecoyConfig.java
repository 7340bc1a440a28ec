package fortress.decoy;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.Settings;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import fortress.core.telemetry.Telemetry;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything the decoy server needs, read once at start-up from flags or environment variables
 * and validated as a whole. Limits carry their unit in their name. With no {@code jdbcUrl} the
 * server starts an embedded PostgreSQL in {@code dataDir} with durable settings.
 */
public record DecoyConfig(
    String host,
    int grpcPort,
    String httpHost,
    int httpPort,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    Path dataDir,
    String shadowTarget,
    int poolSizeMax,
    int serverThreads,
    long generateCountMax,
    int httpRequestBytesMax,
    int httpHeadersMax,
    int httpRatePerClientPerSecond,
    int httpBurstPerClient,
    long httpHeaderTimeoutMs,
    long httpBodyTimeoutMs,
    long httpKeepaliveTimeoutMs,
    int httpConnectionsMax,
    int httpConnectionsPerClientMax,
    int interactionQueueDepthMax,
    int pageSizeDefault,
    int pageSizeMax,
    long shutdownGraceMs,
    Security security,
    String shadowToken,
    Telemetry.Config telemetry,
    Path httpCertFile,
    Path httpKeyFile) {

  public static final int GRPC_PORT_DEFAULT = 50081;
  public static final int HTTP_PORT_DEFAULT = 8088;
  public static final int METRICS_PORT_DEFAULT = 9467;
  public static final int POOL_SIZE_MAX_DEFAULT = 8;
  public static final int SERVER_THREADS_DEFAULT = 8;
  public static final long GENERATE_COUNT_MAX_DEFAULT = 10_000_000;
  /** nginx's client_max_body_size; a body is hashed as it arrives, never held. */
  public static final int HTTP_REQUEST_BYTES_MAX_DEFAULT = 1024 * 1024;
  /** A bound on work per request (nginx has none but its 32 KiB); only 64 header lines are kept. */
  public static final int HTTP_HEADERS_MAX_DEFAULT = 1_000;
  /** nginx's client_header_timeout, client_body_timeout and keepalive_timeout (as totals here). */
  public static final long HTTP_HEADER_TIMEOUT_MS_DEFAULT = 60_000;
  public static final long HTTP_BODY_TIMEOUT_MS_DEFAULT = 60_000;
  public static final long HTTP_KEEPALIVE_TIMEOUT_MS_DEFAULT = 75_000;
  public static final int HTTP_CONNECTIONS_MAX_DEFAULT = 2_048;
  public static final int HTTP_CONNECTIONS_PER_CLIENT_MAX_DEFAULT = 64;
  public static final int HTTP_RATE_PER_CLIENT_PER_SECOND_DEFAULT = 50;
  public static final int HTTP_BURST_PER_CLIENT_DEFAULT = 100;
  public static final int INTERACTION_QUEUE_DEPTH_MAX_DEFAULT = 100_000;
  public static final int PAGE_SIZE_DEFAULT = 100;
  public static final int PAGE_SIZE_MAX_DEFAULT = 1_000;
  public static final long SHUTDOWN_GRACE_MS_DEFAULT = 10_000;

  public DecoyConfig {
    checkArgument(pageSizeDefault <= pageSizeMax, "page-size-default (%s) must not exceed page-size-max (%s)",
        pageSizeDefault, pageSizeMax);
    checkArgument(httpConnectionsPerClientMax <= httpConnectionsMax,
        "http-connections-per-client-max (%s) must not exceed http-connections-max (%s)", httpConnectionsPerClientMax,
        httpConnectionsMax);
  }

  public boolean embedded() {
    return jdbcUrl == null;
  }

  /** Reads the configuration; throws IllegalArgumentException listing every problem. */
  public static DecoyConfig parse(String[] args, Map<String, String> env) {
    return Settings.parse(args, env, DecoyConfig::read);
  }

  /** The --help text. */
  public static String usage() {
    return Settings.usage("Fortress decoy server.", DecoyConfig::read);
  }

  private static DecoyConfig read(Settings s) {
    String host = s.string("host", "127.0.0.1", "address the gRPC server binds");
    int grpcPort = s.integer("grpc-port", GRPC_PORT_DEFAULT, 0, 65535, "gRPC port; 0 picks a free one");
    String httpHost = s.string("http-host", "127.0.0.1", "address the decoy HTTP listener binds");
    int httpPort = s.integer("http-port", HTTP_PORT_DEFAULT, 0, 65535, "decoy HTTP port; 0 picks a free one");
    String httpCert = s.string("http-tls-cert-file", null, "PEM certificate chain the decoy endpoints serve HTTPS "
        + "with (a public-facing certificate, not the cluster's); unset serves plain HTTP");
    String httpKey = s.string("http-tls-key-file", null, "PEM PKCS#8 private key of --http-tls-cert-file");
    if ((httpCert == null) != (httpKey == null)) {
      s.problem("--http-tls-cert-file and --http-tls-key-file go together: set both or neither");
    }
    for (String file : java.util.Arrays.asList(httpCert, httpKey)) {
      if (file != null && !java.nio.file.Files.isReadable(Path.of(file))) {
        s.problem(file + " (decoy HTTPS) cannot be read");
      }
    }
    String jdbcUrl = s.string("jdbc-url", null, "PostgreSQL JDBC URL; unset starts an embedded PostgreSQL");
    String jdbcUser = s.string("jdbc-user", "postgres", "PostgreSQL user");
    String jdbcPassword = s.string("jdbc-password", "", "PostgreSQL password (prefer the environment)");
    Path dataDir = Path.of(s.string("data-dir", ".fortress/decoy", "embedded PostgreSQL data"));
    String shadow = s.string("shadow-target", "", "host:port of the shadow server for ExportInteractions; "
        + "empty disables export");
    int pool = s.integer("pool-size-max", POOL_SIZE_MAX_DEFAULT, 2, 256, "database connections");
    int threads = s.integer("server-threads", SERVER_THREADS_DEFAULT, 1, 512, "threads running RPC handlers");
    long countMax = s.number("generate-count-max", GENERATE_COUNT_MAX_DEFAULT, 1, 1_000_000_000,
        "records one Generate call may ask for");
    int bytesMax = s.integer("http-request-bytes-max", HTTP_REQUEST_BYTES_MAX_DEFAULT, 1024, 16 * 1024 * 1024,
        "largest decoy HTTP request body; larger ones get 413 (IIS family: 404)");
    int headersMax = s.integer("http-headers-max", HTTP_HEADERS_MAX_DEFAULT, 8, 10_000,
        "most headers a decoy HTTP request may carry; more are refused as headers too large");
    int rate = s.integer("http-rate-per-client-per-second", HTTP_RATE_PER_CLIENT_PER_SECOND_DEFAULT, 1,
        1_000_000, "decoy HTTP requests per second one client IP may sustain; more get 429");
    int burst = s.integer("http-burst-per-client", HTTP_BURST_PER_CLIENT_DEFAULT, 1, 1_000_000,
        "decoy HTTP requests one client IP may send at once before the rate applies");
    long headerTimeoutMs = s.number("http-header-timeout-ms", HTTP_HEADER_TIMEOUT_MS_DEFAULT, 100, 600_000,
        "total time a decoy HTTP client has to send a request line and headers, however slowly it trickles them");
    long bodyTimeoutMs = s.number("http-body-timeout-ms", HTTP_BODY_TIMEOUT_MS_DEFAULT, 100, 600_000,
        "total time a decoy HTTP client has to send a request body");
    long keepaliveTimeoutMs = s.number("http-keepalive-timeout-ms", HTTP_KEEPALIVE_TIMEOUT_MS_DEFAULT, 100, 600_000,
        "how long an idle kept-alive decoy HTTP connection stays open");
    int connectionsMax = s.integer("http-connections-max", HTTP_CONNECTIONS_MAX_DEFAULT, 1, 1_000_000,
        "open decoy HTTP connections; more are closed at accept");
    int connectionsPerClientMax = s.integer("http-connections-per-client-max", HTTP_CONNECTIONS_PER_CLIENT_MAX_DEFAULT,
        1, 1_000_000, "open decoy HTTP connections from one client IP; more are closed at accept");
    int queueMax = s.integer("interaction-queue-depth-max", INTERACTION_QUEUE_DEPTH_MAX_DEFAULT, 1, 10_000_000,
        "captured requests waiting to be written before new ones are dropped (and counted)");
    int pageDefault = s.integer("page-size-default", PAGE_SIZE_DEFAULT, 1, 10_000, "list page size when 0 is asked");
    int pageMax = s.integer("page-size-max", PAGE_SIZE_MAX_DEFAULT, 1, 10_000, "largest list page");
    long graceMs = s.number("shutdown-grace-ms", SHUTDOWN_GRACE_MS_DEFAULT, 0, 600_000,
        "how long shutdown waits for in-flight calls");
    Security security = Security.read(s, Tokens.Policy.DECOY, false);
    Telemetry.Config telemetry = Telemetry.Config.read(s, "fortress-decoy", "decoy", METRICS_PORT_DEFAULT);
    String shadowToken = s.secretText("shadow-token", "bearer token sent to the shadow server with exported "
        + "interactions, when it verifies tokens");
    try {
      return new DecoyConfig(host, grpcPort, httpHost, httpPort, jdbcUrl, jdbcUser, jdbcPassword, dataDir, shadow,
          pool, threads, countMax, bytesMax, headersMax, rate, burst, headerTimeoutMs, bodyTimeoutMs,
          keepaliveTimeoutMs, connectionsMax, connectionsPerClientMax, queueMax, pageDefault, pageMax, graceMs,
          security, shadowToken, telemetry, httpCert == null ? null : Path.of(httpCert),
          httpKey == null ? null : Path.of(httpKey));
    } catch (IllegalArgumentException e) {
      s.problem(e.getMessage());
      return null;
    }
  }

  /** A copy pointing at a database; used by the embedded start-up path. */
  public DecoyConfig withJdbc(String url, String user, String password) {
    return new DecoyConfig(host, grpcPort, httpHost, httpPort, url, user, password, dataDir, shadowTarget,
        poolSizeMax, serverThreads, generateCountMax, httpRequestBytesMax, httpHeadersMax, httpRatePerClientPerSecond,
        httpBurstPerClient, httpHeaderTimeoutMs, httpBodyTimeoutMs, httpKeepaliveTimeoutMs, httpConnectionsMax,
        httpConnectionsPerClientMax, interactionQueueDepthMax, pageSizeDefault, pageSizeMax, shutdownGraceMs, security,
        shadowToken, telemetry, httpCertFile, httpKeyFile);
  }

  @Override
  public String toString() {
    return "DecoyConfig[host=" + host + ", grpcPort=" + grpcPort + ", httpPort=" + httpPort + ", database="
        + (embedded() ? "embedded in " + dataDir : jdbcUrl.replaceAll("password=[^&]*", "password=***"))
        + ", shadowTarget=" + (shadowTarget.isEmpty() ? "none" : shadowTarget) + ", " + security.describe() + "]";
  }
}
