package fortress.core.security;

import static com.google.common.base.Preconditions.checkState;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.core.Settings;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one gRPC listener lets any caller, authenticated or not, hold: connections (in all and
 * per client address), concurrent streams per connection, message and header sizes, and how long
 * a connection may stay idle or silent. Streaming calls to public methods (health Watch,
 * reflection) are capped separately by {@link Guard}. The defaults keep a server within a 256 MiB heap under a flood of
 * anonymous connections and streams.
 */
public record Limits(int connectionsMax, int connectionsPerAddressMax, int streamsPerConnectionMax,
    int messageBytesMax, int headerBytesMax, long idleMs, long handshakeMs, long keepAliveMs,
    long keepAliveTimeoutMs, long pingIntervalMinMs, int publicCallsMax, int resetsPerWindowMax) {
  private static final Logger log = LoggerFactory.getLogger(Limits.class);
  /** The defaults, for servers built in tests. */
  public static final Limits DEFAULT = new Limits(2_048, 64, 128, 4 << 20, 16 << 10, 300_000, 10_000, 60_000,
      20_000, 10_000, 64, 100);
  /** The window {@link #resetsPerWindowMax} counts over. */
  static final int RESET_WINDOW_SECONDS = 10;

  public Limits {
    checkState(connectionsMax > 0 && connectionsPerAddressMax > 0 && streamsPerConnectionMax > 0
        && messageBytesMax > 0 && headerBytesMax > 0 && publicCallsMax > 0 && resetsPerWindowMax > 0,
        "limits must be positive");
  }

  /** Reads the --max-* and --keepalive-* settings. */
  public static Limits read(Settings s) {
    Limits d = DEFAULT;
    return new Limits(
        s.integer("max-connections", d.connectionsMax, 1, 1_000_000, "open gRPC connections, from all clients; "
            + "a connection beyond it is closed at once"),
        s.integer("max-connections-per-address", d.connectionsPerAddressMax, 1, 1_000_000,
            "open gRPC connections from one client: an IPv4 address, or an IPv6 /64"),
        s.integer("max-concurrent-streams", d.streamsPerConnectionMax, 1, 100_000,
            "concurrent calls on one connection (HTTP/2 MAX_CONCURRENT_STREAMS)"),
        s.integer("max-message-bytes", d.messageBytesMax, 1_024, 64 << 20, "largest request message"),
        s.integer("max-header-bytes", d.headerBytesMax, 1_024, 1 << 20, "largest header block of a call"),
        s.number("max-connection-idle-ms", d.idleMs, 1_000, 86_400_000L,
            "a connection with no call for this long is closed"),
        s.number("handshake-timeout-ms", d.handshakeMs, 100, 600_000L,
            "time a new connection has to finish its TLS and HTTP/2 handshake"),
        s.number("keepalive-ms", d.keepAliveMs, 1_000, 86_400_000L, "ping a silent connection after this long"),
        s.number("keepalive-timeout-ms", d.keepAliveTimeoutMs, 1_000, 600_000L,
            "close a connection whose ping is not answered within this"),
        s.number("min-client-ping-interval-ms", d.pingIntervalMinMs, 1_000, 3_600_000L,
            "a client pinging more often than this is disconnected"),
        s.integer("max-public-calls", d.publicCallsMax, 1, 100_000,
            "concurrent streaming calls to public methods (health Watch, reflection) from all callers; one "
                + "client address may hold a quarter of them"),
        s.integer("max-resets-per-window", d.resetsPerWindowMax, 1, 1_000_000, "streams a client may reset on "
            + "one connection in " + RESET_WINDOW_SECONDS + " s; more closes it (HTTP/2 rapid reset)"));
  }

  /** Puts these limits on a Netty server builder, with a listener that enforces the connection caps. */
  public NettyServerBuilder applyTo(NettyServerBuilder builder) {
    return builder.channelFactory(() -> new CappedServerChannel(connectionsMax, connectionsPerAddressMax))
        .bossEventLoopGroup(Loops.BOSS).workerEventLoopGroup(Loops.WORKERS)
        .maxConcurrentCallsPerConnection(streamsPerConnectionMax)
        .maxInboundMessageSize(messageBytesMax)
        .maxInboundMetadataSize(headerBytesMax - 1, headerBytesMax)
        .maxConnectionIdle(idleMs, TimeUnit.MILLISECONDS)
        .handshakeTimeout(handshakeMs, TimeUnit.MILLISECONDS)
        .keepAliveTime(keepAliveMs, TimeUnit.MILLISECONDS)
        .keepAliveTimeout(keepAliveTimeoutMs, TimeUnit.MILLISECONDS)
        .permitKeepAliveTime(pingIntervalMinMs, TimeUnit.MILLISECONDS)
        .permitKeepAliveWithoutCalls(false)
        .maxRstFramesPerWindow(resetsPerWindowMax, RESET_WINDOW_SECONDS);
  }

  /**
   * The client an address stands for when counting: an IPv4 address itself, an IPv6 address's /64
   * (one host is usually given a whole /64, so counting its addresses one by one would count
   * nothing).
   */
  static InetAddress client(InetAddress address) {
    if (!(address instanceof Inet6Address)) {
      return address;
    }
    byte[] prefix = Arrays.copyOf(address.getAddress(), 16);
    Arrays.fill(prefix, 8, 16, (byte) 0);
    try {
      return InetAddress.getByAddress(prefix);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("16 bytes are an IPv6 address", e);
    }
  }

  /** One process-wide pair of event loop groups for every listener, as grpc-java's defaults are. */
  private static final class Loops {
    static final EventLoopGroup BOSS = new NioEventLoopGroup(1,
        new ThreadFactoryBuilder().setNameFormat("grpc-accept-%d").setDaemon(true).build());
    static final EventLoopGroup WORKERS = new NioEventLoopGroup(0,
        new ThreadFactoryBuilder().setNameFormat("grpc-io-%d").setDaemon(true).build());
  }

  /**
   * A listening channel that closes, as soon as it is accepted, a connection that would exceed
   * the total or per-address cap; the count drops when a connection closes.
   */
  static final class CappedServerChannel extends NioServerSocketChannel {
    private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final int total;
    private final int perAddress;
    private int open;
    private final Map<InetAddress, Integer> byAddress = new HashMap<>();
    private long refused;
    private long warnedAt = System.nanoTime() - WARN_EVERY_NANOS;

    CappedServerChannel(int total, int perAddress) {
      this.total = total;
      this.perAddress = perAddress;
    }

    @Override
    protected int doReadMessages(List<Object> buf) throws Exception {
      int from = buf.size();
      int admitted = super.doReadMessages(buf);
      Iterator<Object> accepted = buf.subList(from, buf.size()).iterator();
      while (accepted.hasNext()) {
        SocketChannel child = (SocketChannel) accepted.next();
        // A connection reset before it is looked at has no remote address any more: drop it.
        InetAddress address = child.remoteAddress() == null ? null : client(child.remoteAddress().getAddress());
        if (address != null && admit(address)) {
          child.closeFuture().addListener(f -> release(address));
        } else {
          accepted.remove();
          admitted--;
          child.unsafe().closeForcibly();
        }
      }
      return admitted;
    }

    private synchronized boolean admit(InetAddress address) {
      int fromAddress = byAddress.getOrDefault(address, 0);
      if (open >= total || fromAddress >= perAddress) {
        refused++;
        if (System.nanoTime() - warnedAt >= WARN_EVERY_NANOS) {
          warnedAt = System.nanoTime();
          log.warn("refusing connections: {} so far; now {} open of {} in all, {} from {} (at most {} per address)",
              refused, open, total, fromAddress, address, perAddress);
        }
        return false;
      }
      open++;
      byAddress.put(address, fromAddress + 1);
      return true;
    }

    private synchronized void release(InetAddress address) {
      checkState(open > 0 && byAddress.containsKey(address), "a connection from %s closed that was never counted",
          address);
      open--;
      byAddress.compute(address, (a, n) -> n == 1 ? null : n - 1);
    }
  }
}
