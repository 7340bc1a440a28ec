package fortress.shadow;

import fortress.core.Ports;
import fortress.core.Settings;

/** Runs the shadow server until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    ShadowConfig config = Settings.forMain(args, ShadowConfig::usage, ShadowConfig::parse);
    if (config == null) {
      return;
    }
    ShadowServer server = Ports.startOrExit("shadow", () -> ShadowServer.start(config));
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
