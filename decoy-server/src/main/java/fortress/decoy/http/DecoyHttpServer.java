package fortress.decoy.http;

import fortress.core.Ports;
import fortress.decoy.capture.Capture;
import fortress.decoy.template.Endpoints;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The decoy HTTP/1.1 listener on plain Netty. Bounds every request: a 4 KiB request line, 8 KiB
 * of headers, a configured body size and header count, a rate per client, and 30 seconds to send
 * a request. What it answers comes from {@link DecoyHandler}.
 */
public final class DecoyHttpServer implements AutoCloseable {
  static final int INITIAL_LINE_LENGTH_MAX = 4096;
  static final int HEADER_BYTES_MAX = 8192;
  static final int READ_TIMEOUT_SECONDS = 30;

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel channel;

  private DecoyHttpServer(EventLoopGroup boss, EventLoopGroup workers, Channel channel) {
    this.boss = boss;
    this.workers = workers;
    this.channel = channel;
  }

  public record Limits(int requestBytesMax, int headersMax, int ratePerClientPerSecond, int burstPerClient) {}

  /** Serves plain HTTP, or HTTPS when {@code tls} is given. */
  public static DecoyHttpServer start(String host, int port, Endpoints endpoints, Capture capture, Limits limits,
      SslContext tls) throws IOException {
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
    RateLimiter rates = new RateLimiter(limits.ratePerClientPerSecond(), limits.burstPerClient());
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            DecoyHandler handler = new DecoyHandler(endpoints, capture, rates, limits.headersMax());
            if (tls != null) {
              ch.pipeline().addLast(tls.newHandler(ch.alloc()));
            }
            ch.pipeline()
                .addLast(new ReadTimeoutHandler(READ_TIMEOUT_SECONDS, TimeUnit.SECONDS))
                .addLast(new HttpServerCodec(new HttpDecoderConfig()
                    .setMaxInitialLineLength(INITIAL_LINE_LENGTH_MAX)
                    .setMaxHeaderSize(HEADER_BYTES_MAX)))
                .addLast(new HttpObjectAggregator(limits.requestBytesMax(), true) {
                  @Override
                  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
                    handler.tooLarge(ctx, oversized);
                  }
                })
                .addLast(handler);
          }
        });
    try {
      Channel channel = Ports.bind("http-port", host, port,
          () -> b.bind(new InetSocketAddress(host, port)).sync().channel());
      return new DecoyHttpServer(boss, workers, channel);
    } catch (IOException | RuntimeException e) {
      boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
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
