package fortress.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.Callable;

/**
 * Binding a server's configured ports. A port another process holds is the commonest reason a
 * server fails to start, so it gets one line naming the port and the flag that moves it,
 * instead of a stack trace from whichever library tried to bind.
 */
public final class Ports {
  /** Exit status of a server whose configured port is taken (as for a bad flag). */
  public static final int EXIT_PORT_IN_USE = 2;

  private Ports() {}

  /** A configured port that another process holds. */
  public static final class InUse extends UncheckedIOException {
    private final String flag;
    private final int port;

    InUse(String flag, String host, int port, Exception cause) {
      super("port " + port + " on " + host + " (--" + flag + ") is in use; stop what holds it, or move this "
          + "server with --" + flag + "=<another port> (0 picks a free one)",
          cause instanceof IOException io ? io : new IOException(cause));
      this.flag = flag;
      this.port = port;
    }

    public String flag() {
      return flag;
    }

    public int port() {
      return port;
    }
  }

  /**
   * Runs {@code bind}, which binds {@code host:port} (the value of {@code --flag}); when it fails
   * and the port is indeed held by someone else, throws {@link InUse} instead.
   */
  public static <T> T bind(String flag, String host, int port, Callable<T> bind) throws IOException {
    try {
      return bind.call();
    } catch (IOException | RuntimeException e) {
      if (port > 0 && !isFree(host, port)) {
        throw new InUse(flag, host, port, e);
      }
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  /**
   * Starts a server from its {@code main}: a port in use ends the process with its one-line
   * message on stderr and status {@value #EXIT_PORT_IN_USE}; anything else propagates.
   */
  public static <T> T startOrExit(String server, Callable<T> start) throws Exception {
    try {
      return start.call();
    } catch (InUse e) {
      System.err.println(server + ": " + e.getMessage());
      System.exit(EXIT_PORT_IN_USE);
      throw e; // not reached
    }
  }

  /** Whether {@code host:port} can be bound now. */
  public static boolean isFree(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
