package fortress.local;

import fortress.core.Ports;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every port a local cluster listens on, chosen before anything starts, so that a fixed port that
 * is taken is reported up front with the launcher flag that moves it, rather than by the server
 * that fails to bind it. A setting of 0 picks free ports instead (the tests and benchmarks do that).
 *
 * <p>Metrics ports run from {@code metricsPortBase}: the proxy, then each node, the shadow and the
 * decoy server. Node gRPC ports run from {@code nodePortBase}: ledger-1, ledger-2, ...
 */
final class PortPlan {
  /**
   * One port: who listens on it ("proxy gRPC"), the port, and the launcher flag that sets it; the
   * flag is null for a free port picked here. {@code count} is how many ports that flag sets.
   */
  record Port(String listener, int port, String flag, int count) {}

  private final Map<String, Integer> grpc = new LinkedHashMap<>();
  private final Map<String, Integer> metrics = new LinkedHashMap<>();
  private final List<Port> all = new ArrayList<>();
  private int decoyHttp;

  private PortPlan() {}

  /** Picks every port for the servers of {@code o}, in start order: the nodes, the proxy, the shadow, the decoy. */
  static PortPlan choose(LocalCluster.Options o) throws IOException {
    PortPlan p = new PortPlan();
    List<String> servers = new ArrayList<>();
    for (int i = 1; i <= o.nodes(); i++) {
      servers.add("ledger-" + i);
      p.grpc.put("ledger-" + i, p.add("ledger-" + i + " gRPC", o.nodePortBase(), i - 1, "node-port-base",
          o.nodes()));
    }
    servers.add(LocalCluster.PROXY);
    p.grpc.put(LocalCluster.PROXY, p.add("proxy gRPC", o.proxyPort(), 0, "proxy-port", 1));
    if (!o.ledgerOnly()) {
      servers.add(LocalCluster.SHADOW);
      servers.add(LocalCluster.DECOY);
      p.grpc.put(LocalCluster.SHADOW, p.add("shadow gRPC", o.shadowPort(), 0, "shadow-port", 1));
      p.grpc.put(LocalCluster.DECOY, p.add("decoy gRPC", o.decoyPort(), 0, "decoy-port", 1));
      p.decoyHttp = p.add("decoy HTTP", o.decoyHttpPort(), 0, "decoy-http-port", 1);
    }
    // The proxy's metrics port comes first, as it always has (9464 is the proxy's).
    List<String> metricsOrder = new ArrayList<>(List.of(LocalCluster.PROXY));
    servers.stream().filter(s -> !s.equals(LocalCluster.PROXY)).forEach(metricsOrder::add);
    for (int i = 0; i < metricsOrder.size(); i++) {
      String server = metricsOrder.get(i);
      p.metrics.put(server, p.add(server + " metrics", o.metricsPortBase(), i, "metrics-port-base",
          metricsOrder.size()));
    }
    return p;
  }

  /** A port from {@code setting} (plus {@code offset} for a base), or a free one when the setting is 0. */
  private int add(String listener, int setting, int offset, String flag, int count) throws IOException {
    int port = setting == 0 ? freePort() : setting + offset;
    all.add(new Port(listener, port, setting == 0 ? null : flag, count));
    return port;
  }

  int grpc(String server) {
    return grpc.get(server);
  }

  int metrics(String server) {
    return metrics.get(server);
  }

  int decoyHttp() {
    return decoyHttp;
  }

  /**
   * What stops the cluster from listening on its fixed ports, as one line naming the flag to change:
   * a port past 65535, a port given twice, or a port already in use on {@code host}. Empty when all
   * is well. Free ports picked here are not checked again.
   */
  Optional<String> problem(String host) {
    List<Port> fixed = all.stream().filter(p -> p.flag() != null).toList();
    for (Port p : fixed) {
      if (p.port() > 65_535) {
        return Optional.of("--" + p.flag() + " leaves no room for " + p.listener() + " (port " + p.port()
            + " > 65535); pass a lower --" + p.flag());
      }
    }
    for (int i = 0; i < fixed.size(); i++) {
      for (int j = i + 1; j < fixed.size(); j++) {
        if (fixed.get(i).port() == fixed.get(j).port()) {
          return Optional.of("port " + fixed.get(i).port() + " is given to both " + fixed.get(i).listener() + " (--"
              + fixed.get(i).flag() + ") and " + fixed.get(j).listener() + " (--" + fixed.get(j).flag()
              + "); move one of them");
        }
      }
    }
    if (!fixed.isEmpty() && !Ports.isFree(host, 0)) {
      return Optional.of("--host=" + host + " is not an address of this machine; pass --host=127.0.0.1");
    }
    for (Port p : fixed) {
      if (!Ports.isFree(host, p.port())) {
        String value = p.count() == 1 ? "<another port> (0 picks a free one)"
            : "<first of " + p.count() + " free ports> (0 picks free ones)";
        return Optional.of("port " + p.port() + " (" + p.listener() + ", --" + p.flag() + ") is in use; stop what "
            + "holds it, or pass --" + p.flag() + "=" + value);
      }
    }
    return Optional.empty();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
