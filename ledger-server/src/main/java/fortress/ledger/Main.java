package fortress.ledger;

import fortress.core.Ports;
import fortress.core.Settings;

/** Runs one ledger node until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    LedgerConfig config = Settings.forMain(args, LedgerConfig::usage, LedgerConfig::parse);
    if (config == null) {
      return;
    }
    LedgerServer server = Ports.startOrExit("ledger", () -> LedgerServer.start(config));
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "ledger-shutdown"));
    System.out.printf("""
        Fortress ledger node %s is ready.
          gRPC:     %s:%d  (health and reflection on)
          database: %s
        Try:
          grpcurl -plaintext %s:%d list
          grpcurl -plaintext -d '{"request_id":"r1","tenant_id":"acme","account_id":"acme:main"}' \\
            %s:%d fortress.ledger.v1.LedgerService/CreateAccount
        Ctrl-C stops it.
        """, config.nodeId(), config.host(), server.port(),
        config.embedded() ? "embedded PostgreSQL in " + config.dataDir().toAbsolutePath() : "external",
        config.host(), server.port(), config.host(), server.port());
    server.awaitTermination();
  }
}
