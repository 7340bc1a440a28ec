package fortress.bench;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * An HTTP/1.1 load client on Netty: a fixed set of keep-alive connections, each carrying one
 * request at a time. {@link #get} takes an idle connection, so with {@link ClosedLoop} holding at
 * most as many calls in flight as there are connections, one is always free.
 */
final class HttpLoad implements AutoCloseable {
  private static final AttributeKey<SettableFuture<Integer>> PENDING = AttributeKey.valueOf("pending");

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ConcurrentLinkedQueue<Channel> idle = new ConcurrentLinkedQueue<>();
  private final String host;

  HttpLoad(String host, int port, int connections) throws InterruptedException {
    this.host = host + ":" + port;
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpClientCodec()).addLast(new HttpObjectAggregator(1 << 20))
                .addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
                    SettableFuture<Integer> done = ctx.channel().attr(PENDING).getAndSet(null);
                    idle.add(ctx.channel());
                    done.set(response.status().code());
                  }

                  @Override
                  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    SettableFuture<Integer> done = ctx.channel().attr(PENDING).getAndSet(null);
                    if (done != null) {
                      done.setException(cause);
                    }
                    ctx.close();
                  }
                });
          }
        });
    for (int i = 0; i < connections; i++) {
      idle.add(b.connect(host, port).sync().channel());
    }
  }

  /** GETs a path (from {@code path}) on an idle connection; the future holds the status. */
  ListenableFuture<Integer> get(Supplier<String> path) {
    Channel channel = idle.poll();
    SettableFuture<Integer> done = SettableFuture.create();
    if (channel == null) {
      done.setException(new IllegalStateException("no idle connection"));
      return done;
    }
    channel.attr(PENDING).set(done);
    DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path.get());
    request.headers().set(HttpHeaderNames.HOST, host).set(HttpHeaderNames.USER_AGENT, "bench");
    channel.writeAndFlush(request);
    return done;
  }

  @Override
  public void close() {
    idle.forEach(Channel::close);
    group.shutdownGracefully().syncUninterruptibly();
  }
}
