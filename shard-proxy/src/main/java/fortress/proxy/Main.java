package fortress.proxy;

import fortress.core.Ports;
import fortress.core.Settings;

/** Runs the shard proxy until SIGTERM or Ctrl-C. {@code --help} lists every flag. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    ProxyConfig config = Settings.forMain(args, ProxyConfig::usage, ProxyConfig::parse);
    if (config == null) {
      return;
    }
    ProxyServer server;
    try {
      server = Ports.startOrExit("shard-proxy", () -> ProxyServer.start(config));
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
