package fortress.decoy.http;

import static com.google.common.base.Preconditions.checkArgument;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps the open decoy connections, in all and per client IP. A connection over either cap is
 * closed as soon as it is accepted, before a byte is read (or a TLS handshake begun); it is not
 * counted. The per-client map holds only addresses with open connections, so it is bounded by
 * the overall cap.
 */
@ChannelHandler.Sharable
final class ConnectionLimits extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("decoy.counted");

  private final int connectionsMax;
  private final int perClientMax;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, Integer> perClient = new ConcurrentHashMap<>();
  private final AtomicInteger refused = new AtomicInteger();

  ConnectionLimits(int connectionsMax, int perClientMax) {
    checkArgument(perClientMax >= 1 && perClientMax <= connectionsMax,
        "connections per client (%s) must be 1 to the connection cap (%s)", perClientMax, connectionsMax);
    this.connectionsMax = connectionsMax;
    this.perClientMax = perClientMax;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    InetAddress client = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    if (client == null || !admit(client)) {
      refused.incrementAndGet();
      ctx.close();
      return;
    }
    ctx.channel().attr(COUNTED).set(client);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    InetAddress client = ctx.channel().attr(COUNTED).getAndSet(null);
    if (client != null) {
      perClient.computeIfPresent(client, (k, n) -> n == 1 ? null : n - 1);
      open.decrementAndGet();
      super.channelInactive(ctx);
    }
  }

  private boolean admit(InetAddress client) {
    if (open.incrementAndGet() > connectionsMax) {
      open.decrementAndGet();
      return false;
    }
    boolean[] admitted = new boolean[1];
    perClient.compute(client, (k, n) -> {
      int count = n == null ? 0 : n;
      admitted[0] = count < perClientMax;
      return admitted[0] ? count + 1 : n;
    });
    if (!admitted[0]) {
      open.decrementAndGet();
    }
    return admitted[0];
  }

  /** Connections open now. */
  int open() {
    return open.get();
  }

  /** Connections closed at accept because a cap was reached. */
  int refused() {
    return refused.get();
  }
}
