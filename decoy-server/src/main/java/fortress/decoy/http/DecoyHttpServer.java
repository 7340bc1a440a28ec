package fortress.decoy.http;

import fortress.core.Ports;
import fortress.decoy.capture.Capture;
import fortress.decoy.template.Endpoints;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The decoy HTTP/1.1 listener on plain Netty, parsing and answering as the imitated server does
 * ({@link RequestDecoder}, {@link DecoyHandler}). Bounds every connection: open connections in all
 * and per client IP, a total deadline for a request's head and one for its body, a keep-alive
 * deadline, the front's line and header sizes, a header count, a body size and a request rate
 * per client.
 */
public final class DecoyHttpServer implements AutoCloseable {
  /** Replies waiting to be written before a connection stops being read. */
  static final int WRITE_BUFFER_LOW_BYTES = 32 * 1024;
  static final int WRITE_BUFFER_HIGH_BYTES = 64 * 1024;

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel channel;
  private final ConnectionLimits connections;

  private DecoyHttpServer(EventLoopGroup boss, EventLoopGroup workers, Channel channel, ConnectionLimits connections) {
    this.boss = boss;
    this.workers = workers;
    this.channel = channel;
    this.connections = connections;
  }

  public record Limits(int requestBytesMax, int headersMax, int ratePerClientPerSecond, int burstPerClient,
      long headerTimeoutMs, long bodyTimeoutMs, long keepaliveTimeoutMs, int connectionsMax,
      int connectionsPerClientMax) {}

  /** Serves plain HTTP, or HTTPS when {@code tls} is given. */
  public static DecoyHttpServer start(String host, int port, Endpoints endpoints, Capture capture, Limits limits,
      SslContext tls) throws IOException {
    RateLimiter rates = new RateLimiter(limits.ratePerClientPerSecond(), limits.burstPerClient());
    ConnectionLimits connections = new ConnectionLimits(limits.connectionsMax(), limits.connectionsPerClientMax());
    RequestDecoder.Limits reading = new RequestDecoder.Limits(limits.headersMax(), limits.requestBytesMax(),
        limits.headerTimeoutMs(), limits.bodyTimeoutMs(), limits.keepaliveTimeoutMs());
    // The front is the one of the site's root page, for every request: one server parses them all.
    Supplier<Front> front = () -> Front.of(endpoints.match("GET", "/").family());
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(WRITE_BUFFER_LOW_BYTES, WRITE_BUFFER_HIGH_BYTES))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(connections);
            if (tls != null) {
              ch.pipeline().addLast(tls.newHandler(ch.alloc()));
            }
            ch.pipeline()
                .addLast(new RequestDecoder(front, reading))
                .addLast(new DecoyHandler(endpoints, capture, rates));
          }
        });
    try {
      Channel channel = Ports.bind("http-port", host, port,
          () -> b.bind(new InetSocketAddress(host, port)).sync().channel());
      return new DecoyHttpServer(boss, workers, channel, connections);
    } catch (IOException | RuntimeException e) {
      boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** Decoy connections open now. */
  public int connectionsOpen() {
    return connections.open();
  }

  /** Decoy connections closed at accept because a connection cap was reached. */
  public int connectionsRefused() {
    return connections.refused();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
