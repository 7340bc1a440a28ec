package fortress.proxy;

import java.util.Arrays;

/** Runs the shard proxy until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (Arrays.asList(args).contains("--help")) {
      System.out.print(ProxyConfig.usage());
      return;
    }
    ProxyConfig config;
    try {
      config = ProxyConfig.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("Run with --help to list the flags.");
      System.exit(2);
      return;
    }
    ProxyServer server;
    try {
      server = ProxyServer.start(config);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "proxy-shutdown"));
    System.out.printf("Fortress shard proxy is ready on %s:%d (ring %s).%n", config.host(), server.port(),
        config.ringFile());
    server.awaitTermination();
  }
}
