package fortress.decoy;

import fortress.core.Ports;
import fortress.core.Settings;

/** Runs the decoy server until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    DecoyConfig config = Settings.forMain(args, DecoyConfig::usage, DecoyConfig::parse);
    if (config == null) {
      return;
    }
    DecoyServer server = Ports.startOrExit("decoy", () -> DecoyServer.start(config));
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "decoy-shutdown"));
    System.out.printf("""
        Fortress decoy server is ready.
          gRPC:       %s:%d  (health and reflection on)
          decoy HTTP: http://%s:%d/
          database:   %s
          export to:  %s
        Try:
          grpcurl -plaintext -d '{"kind":"RECORD_KIND_TRANSACTION","count":3,"seed":7}' %s:%d fortress.decoy.v1.DecoyService/Generate
        Ctrl-C stops it.
        """, config.host(), server.port(), config.httpHost(), server.httpPort(),
        config.embedded() ? "embedded PostgreSQL in " + config.dataDir().toAbsolutePath() : "external",
        config.shadowTarget().isEmpty() ? "no shadow server (--shadow-target)" : config.shadowTarget(),
        config.host(), server.port());
    server.awaitTermination();
  }
}
