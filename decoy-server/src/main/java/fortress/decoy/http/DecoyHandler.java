package fortress.decoy.http;

import com.google.protobuf.Timestamp;
import fortress.decoy.capture.Capture;
import fortress.decoy.template.Endpoints;
import fortress.decoy.v1.Interaction;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one decoy connection's requests as its imitated server would: the matching template
 * rendered for this client; HEAD as GET without the body; 405 for a path served with another
 * method; 404; and the front's own refusals (see {@link Replies}). Every request is captured in a
 * bounded form ({@link Capture#bounded}), answered or not: one cut off by a deadline with status
 * 408, and one the client left part way with 499, the codes nginx logs for them.
 *
 * <p>Nothing a client sees names Java, Netty or Fortress, and no exception reaches the wire: a
 * failure answers the family's 500 or closes the connection.
 */
final class DecoyHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(DecoyHandler.class);
  /** nginx's keepalive_requests: the last request on a connection is answered with Connection: close. */
  static final int KEEPALIVE_REQUESTS_MAX = 1000;
  static final int STATUS_TIMED_OUT = 408;
  static final int STATUS_CLIENT_LEFT = 499;
  /** The methods nginx's static files take (POST gets 404 or 405); any other gets 405. */
  private static final Set<String> NGINX_FILE_METHODS = Set.of("GET", "HEAD", "POST");
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private final Endpoints endpoints;
  private final Capture capture;
  private final RateLimiter rates;
  private int requests;
  private boolean closing;
  private Pending pending;

  /** The request whose body is being read, the reply it gets, and whether that was sent or waits for the body. */
  private record Pending(RequestHead head, Reply reply, String templateId, boolean sent, boolean waits) {}

  DecoyHandler(Endpoints endpoints, Capture capture, RateLimiter rates) {
    this.endpoints = endpoints;
    this.capture = capture;
    this.rates = rates;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (closing && !(msg instanceof RequestDecoder.Cut)) {
      return;
    }
    if (msg instanceof RequestDecoder.Head h) {
      head(ctx, h.head());
    } else if (msg instanceof RequestDecoder.Body b) {
      body(ctx, b);
    } else if (msg instanceof RequestDecoder.Refused r) {
      refused(ctx, r);
    } else if (msg instanceof RequestDecoder.Cut c) {
      // A request answered before its body keeps the status it got.
      Pending p = pending;
      boolean answered = p != null && p.sent();
      record(ctx, c.head(), c.bodyBytes(), "", answered ? p.reply().status
          : c.timedOut() ? STATUS_TIMED_OUT : STATUS_CLIENT_LEFT, answered ? p.templateId() : "");
      pending = null;
    }
  }

  private void head(ChannelHandlerContext ctx, RequestHead head) {
    requests++;
    boolean keepAlive = head.keepAlive && requests < KEEPALIVE_REQUESTS_MAX;
    String templateId = "";
    Reply reply;
    Endpoints.Match match = endpoints.match(head.method, head.routePath);
    if (!rates.allow(clientIp(ctx))) {
      reply = head.front == Front.NGINX ? Replies.nginx(429, keepAlive) : Replies.iis(403, keepAlive, false);
    } else if (head.front == Front.NGINX && head.method.equals("TRACE")) {
      reply = Replies.nginx(405, false);
    } else {
      if (match.endpoint() != null) {
        Template t = match.endpoint().template();
        templateId = t.getTemplateId();
        reply = render(ctx, head, match, keepAlive);
      } else {
        boolean notAllowed = match.pathServed()
            || head.front == Front.NGINX && !NGINX_FILE_METHODS.contains(head.method);
        reply = Replies.error(match.family(), notAllowed ? 405 : 404, keepAlive);
      }
    }
    if (head.expectContinue && reply.served) {
      // Like nginx, invite the body only to a page that will be served, with or without a body.
      ctx.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
    }
    // An application behind nginx reads the whole body before it answers; nginx itself and IIS
    // answer at once, after whatever part of the body has already arrived (see channelReadComplete).
    boolean waits = reply.served && match.family() == TemplateFamily.TEMPLATE_FAMILY_JSON_API;
    pending = new Pending(head, reply, templateId, false, waits);
  }

  private Reply render(ChannelHandlerContext ctx, RequestHead head, Endpoints.Match match, boolean keepAlive) {
    Template t = match.endpoint().template();
    try {
      String body = match.endpoint().render(clientKey(t, clientIp(ctx), head.headers), clientIp(ctx),
          match.pathValues());
      return Replies.template(t, body, keepAlive);
    } catch (RuntimeException e) {
      log.warn("template {} failed to render: {}", t.getTemplateId(), e.toString());
      return Replies.error(t.getFamily(), 500, keepAlive);
    }
  }

  /** The end of what one read brought: a reply that need not wait for its body goes out now. */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Pending p = pending;
    if (p != null && !p.sent() && !p.waits() && !closing) {
      pending = new Pending(p.head(), p.reply(), p.templateId(), true, false);
      write(ctx, p.head(), p.reply(), p.reply().close);
    }
    ctx.fireChannelReadComplete();
  }

  private void body(ChannelHandlerContext ctx, RequestDecoder.Body body) {
    Pending p = pending;
    pending = null;
    record(ctx, p.head(), body.bytes(), body.sha256(), p.reply().status, p.templateId());
    if (!p.sent()) {
      write(ctx, p.head(), p.reply(), p.reply().close);
    }
  }

  /**
   * A refusal. One that comes while a reply is pending comes from the body: a body that does not
   * parse turns nginx's page into its 400 and its error into the same error with the connection
   * closed; a body too long is refused as such.
   */
  private void refused(ChannelHandlerContext ctx, RequestDecoder.Refused refused) {
    RequestHead head = refused.head();
    Pending p = pending;
    pending = null;
    Reply reply = Replies.refusal(head.front, refused.refusal());
    if (p != null && !p.reply().served && refused.refusal() == Refusal.BAD_REQUEST) {
      reply = p.reply().closing();
    }
    record(ctx, head, refused.bodyBytes(), "", reply.status, "");
    if (p != null && p.sent()) {
      // The request was answered before its body; a second answer would confuse the client.
      closing = true;
      ctx.close();
    } else {
      write(ctx, head, reply, !refused.refusal().lingers(head.front));
    }
  }

  private void write(ChannelHandlerContext ctx, RequestHead head, Reply reply, boolean closeAfter) {
    ByteBuf bytes = head.http09 ? reply.encodeBody(ctx.alloc())
        : reply.encode(ctx.alloc(), !head.method.equals("HEAD"));
    var written = ctx.writeAndFlush(bytes);
    if (closeAfter) {
      closing = true;
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void record(ChannelHandlerContext ctx, RequestHead head, long bodyBytes, String sha256, int status,
      String templateId) {
    Interaction.Builder b = Interaction.newBuilder()
        .setTime(Timestamp.newBuilder().setSeconds(head.arrival.getEpochSecond()).setNanos(head.arrival.getNano()))
        .setClientIp(clientIp(ctx))
        .setMethod(head.method)
        // A request line that was not read whole, or did not parse, is kept (its start) in place of the path.
        .setPath(!head.path.isEmpty() ? head.path : head.requestLine == null ? "" : head.requestLine)
        .setQuery(head.query)
        .setBodyBytes(bodyBytes)
        .setBodySha256(sha256)
        .setTemplateId(templateId)
        .setStatus(status);
    capture.record(Capture.bounded(b, head.headers));
  }

  private static String clientKey(Template t, String ip, List<String[]> headers) {
    if (t.getClientKey().startsWith("header:")) {
      String value = header(headers, t.getClientKey().substring("header:".length()));
      if (value != null && !value.isEmpty()) {
        return "header\n" + value;
      }
    }
    String agent = header(headers, "user-agent");
    return ip + "\n" + (agent == null ? "" : agent);
  }

  private static String header(List<String[]> headers, String name) {
    for (String[] h : headers) {
      if (h[0].toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
        return h[1];
      }
    }
    return null;
  }

  private static String clientIp(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "";
  }

  /** A client that does not read its answers stops being read from, so replies cannot pile up. */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("decoy connection closed: {}", cause.toString());
    closing = true;
    ctx.close();
  }
}
