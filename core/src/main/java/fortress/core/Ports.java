package fortress.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.concurrent.Callable;

/**
 * Binding a server's configured ports. A port another process holds is the commonest reason a
 * server fails to start, so it gets one line naming the port and the flag that moves it,
 * instead of a stack trace from whichever library tried to bind.
 */
public final class Ports {
  /** Exit status of a server whose configured port is taken (as for a bad flag). */
  public static final int EXIT_PORT_IN_USE = 2;
  /** How the JDK words EADDRINUSE in a BindException. */
  private static final String IN_USE = "Address already in use";

  private Ports() {}

  /** A configured address a server cannot listen on; its message is the one line to print. */
  public static class CannotBind extends UncheckedIOException {
    private final String flag;
    private final int port;

    CannotBind(String message, String flag, int port, Exception cause) {
      super(message, cause instanceof IOException io ? io : new IOException(cause));
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

  /** A configured port that another process holds. */
  public static final class InUse extends CannotBind {
    InUse(String flag, String host, int port, Exception cause) {
      super("port " + port + " on " + host + " (--" + flag + ") is in use; stop what holds it, or move this "
          + "server with --" + flag + "=<another port> (0 picks a free one)", flag, port, cause);
    }
  }

  /**
   * Runs {@code bind}, which binds {@code host:port} (the value of {@code --flag}). When the port
   * is held by someone else, throws {@link InUse}; when the address cannot be bound for another
   * reason (no such local address, no permission), {@link CannotBind} with the system's reason.
   */
  public static <T> T bind(String flag, String host, int port, Callable<T> bind) throws IOException {
    try {
      return bind.call();
    } catch (IOException | RuntimeException e) {
      String problem = port > 0 ? bindProblem(host, port) : null;
      if (problem == null) {
        throw e;
      }
      if (problem.contains(IN_USE)) {
        throw new InUse(flag, host, port, e);
      }
      throw new CannotBind("cannot listen on " + host + ":" + port + " (--" + flag + "): " + problem, flag, port, e);
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  /**
   * Starts a server from its {@code main}: an address it cannot listen on (a port in use, say)
   * ends the process with its one-line message on stderr and status {@value #EXIT_PORT_IN_USE};
   * anything else propagates.
   */
  public static <T> T startOrExit(String server, Callable<T> start) throws Exception {
    try {
      return start.call();
    } catch (CannotBind e) {
      System.err.println(server + ": " + e.getMessage());
      System.exit(EXIT_PORT_IN_USE);
      throw e; // not reached
    }
  }

  /** Whether {@code host:port} can be bound now. */
  public static boolean isFree(String host, int port) {
    return bindProblem(host, port) == null;
  }

  /** Why {@code host:port} cannot be bound now, as the system says it; null when it can. */
  private static String bindProblem(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
      return null;
    } catch (UnknownHostException e) {
      return "unknown host " + host;
    } catch (IOException e) {
      return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
  }
}
