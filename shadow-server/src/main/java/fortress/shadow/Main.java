package fortress.shadow;

import java.util.Arrays;

/** Runs the shadow server until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (Arrays.asList(args).contains("--help")) {
      System.out.print(ShadowConfig.usage());
      return;
    }
    ShadowConfig config;
    try {
      config = ShadowConfig.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("Run with --help to list the flags.");
      System.exit(2);
      return;
    }
    ShadowServer server = ShadowServer.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shadow-shutdown"));
    System.out.printf("""
        Fortress shadow server is ready.
          gRPC:     %s:%d  (health and reflection on)
          database: %s
        Try:
          grpcurl -plaintext %s:%d list fortress.shadow.v1.ShadowService
        Ctrl-C stops it.
        """, config.host(), server.port(),
        config.embedded() ? "embedded PostgreSQL in " + config.dataDir().toAbsolutePath() : "external",
        config.host(), server.port());
    server.awaitTermination();
  }
}
