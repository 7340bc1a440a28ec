package fortress.ledger;

import java.util.Arrays;

/** Runs one ledger node until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (Arrays.asList(args).contains("--help")) {
      System.out.print(LedgerConfig.usage());
      return;
    }
    LedgerConfig config;
    try {
      config = LedgerConfig.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("Run with --help to list the flags.");
      System.exit(2);
      return;
    }
    LedgerServer server = LedgerServer.start(config);
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
