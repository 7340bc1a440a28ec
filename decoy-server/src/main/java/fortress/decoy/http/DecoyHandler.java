package fortress.decoy.http;

import com.google.common.hash.Hashing;
import com.google.protobuf.Timestamp;
import fortress.decoy.capture.Capture;
import fortress.decoy.template.Endpoints;
import fortress.decoy.template.Pages;
import fortress.decoy.v1.Interaction;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one decoy connection's requests: the matching template rendered for this client, or the
 * family's own 404, 400, 413, 414, 429 or 431. Every request, answered or refused, is captured.
 * Nothing a client sees names Java, Netty or Fortress, and no exception reaches the wire: a
 * failure answers the family's 500 or closes the connection.
 */
final class DecoyHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(DecoyHandler.class);
  static final int CAPTURED_HEADERS_MAX = 32;
  static final int CAPTURED_VALUE_LENGTH_MAX = 512;
  static final int CAPTURED_PATH_LENGTH_MAX = 2048;
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

  private final Endpoints endpoints;
  private final Capture capture;
  private final RateLimiter rates;
  private final int headersMax;

  DecoyHandler(Endpoints endpoints, Capture capture, RateLimiter rates, int headersMax) {
    this.endpoints = endpoints;
    this.capture = capture;
    this.rates = rates;
    this.headersMax = headersMax;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    String ip = clientIp(ctx);
    String uri = request.uri();
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    String query = q < 0 ? "" : uri.substring(q + 1);
    Interaction.Builder seen = interaction(ip, request, path, query, request.content());
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      int status = cause instanceof TooLongHttpLineException ? 414
          : cause instanceof TooLongHttpHeaderException ? 431 : 400;
      refuse(ctx, seen, TemplateFamily.TEMPLATE_FAMILY_NGINX_HTML, status, request.method());
      return;
    }
    if (request.headers().size() > headersMax) {
      refuse(ctx, seen, TemplateFamily.TEMPLATE_FAMILY_NGINX_HTML, 431, request.method());
      return;
    }
    Endpoints.Match match = endpoints.match(request.method().name(), path.isEmpty() || path.charAt(0) != '/'
        ? "/" + path : path);
    if (!rates.allow(ip)) {
      refuse(ctx, seen, match.family(), 429, request.method());
      return;
    }
    if (match.endpoint() == null) {
      respond(ctx, seen, match.family(), 404, request, null, null);
      return;
    }
    Template t = match.endpoint().template();
    String body;
    try {
      body = match.endpoint().render(clientKey(t, ip, request.headers()), ip, match.pathValues());
    } catch (RuntimeException e) {
      log.warn("template {} failed to render: {}", t.getTemplateId(), e.toString());
      respond(ctx, seen, t.getFamily(), 500, request, null, null);
      return;
    }
    seen.setTemplateId(t.getTemplateId());
    respond(ctx, seen, t.getFamily(), t.getStatus(), request, t, body);
  }

  /** Called by the aggregator when a body passes the limit: 413, captured, connection closed. */
  void tooLarge(ChannelHandlerContext ctx, HttpMessage oversized) {
    String uri = oversized instanceof HttpRequest r ? r.uri() : "/";
    int q = uri.indexOf('?');
    Interaction.Builder seen = interaction(clientIp(ctx), oversized, q < 0 ? uri : uri.substring(0, q),
        q < 0 ? "" : uri.substring(q + 1), Unpooled.EMPTY_BUFFER);
    seen.setBodyBytes(Math.max(0, HttpUtil.getContentLength(oversized, 0L)));
    HttpMethod method = oversized instanceof HttpRequest r ? r.method() : HttpMethod.GET;
    refuse(ctx, seen, endpoints.match(method.name(), q < 0 ? uri : uri.substring(0, q)).family(), 413, method);
  }

  private void refuse(ChannelHandlerContext ctx, Interaction.Builder seen, TemplateFamily family, int status,
      HttpMethod method) {
    FullHttpResponse response = response(family, status, method, null, null);
    response.headers().set("Connection", "close");
    seen.setStatus(status);
    capture.record(seen.build());
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  private void respond(ChannelHandlerContext ctx, Interaction.Builder seen, TemplateFamily family, int status,
      FullHttpRequest request, Template template, String body) {
    FullHttpResponse response = response(family, status, request.method(), template, body);
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    response.headers().set("Connection", keepAlive ? "keep-alive" : "close");
    seen.setStatus(status);
    capture.record(seen.build());
    var written = ctx.writeAndFlush(response);
    if (!keepAlive) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** A template's response, or the family's error page when {@code template} is null. */
  private static FullHttpResponse response(TemplateFamily family, int status, HttpMethod method, Template template,
      String body) {
    String contentType;
    if (template == null) {
      Pages.Page page = Pages.error(family, status);
      contentType = page.contentType();
      body = page.body();
    } else {
      contentType = family == TemplateFamily.TEMPLATE_FAMILY_JSON_API ? "application/json" : "text/html";
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ByteBuf content = method.equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status, Pages.reason(status)), content);
    // Header names as the real servers write them (Netty's constants are lower case, a tell).
    HttpHeaders h = response.headers();
    h.set("Server", Pages.server(family));
    h.set("Date", HTTP_DATE.format(Instant.now()));
    h.set("Content-Type", template != null && contentType.startsWith("text/") ? contentType + "; charset=utf-8"
        : contentType);
    if (family == TemplateFamily.TEMPLATE_FAMILY_IIS) {
      h.set("X-Powered-By", "ASP.NET");
    }
    if (template != null) {
      template.getHeadersMap().forEach(h::set);
    }
    h.set("Content-Length", bytes.length);
    return response;
  }

  private static String clientKey(Template t, String ip, HttpHeaders headers) {
    if (t.getClientKey().startsWith("header:")) {
      String value = headers.get(t.getClientKey().substring("header:".length()));
      if (value != null && !value.isEmpty()) {
        return "header\n" + value;
      }
    }
    String agent = headers.get(HttpHeaderNames.USER_AGENT);
    return ip + "\n" + (agent == null ? "" : agent);
  }

  private static Interaction.Builder interaction(String ip, HttpMessage message, String path, String query,
      ByteBuf body) {
    Instant now = Instant.now();
    Interaction.Builder b = Interaction.newBuilder()
        .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
        .setClientIp(ip)
        .setMethod(message instanceof HttpRequest r ? cut(r.method().name(), 32) : "")
        .setPath(cut(path, CAPTURED_PATH_LENGTH_MAX))
        .setQuery(cut(query, CAPTURED_PATH_LENGTH_MAX))
        .setBodyBytes(body.readableBytes())
        .setBodySha256(Hashing.sha256().hashBytes(body.nioBuffer()).toString());
    for (Map.Entry<String, String> h : message.headers()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (b.getHeadersCount() >= CAPTURED_HEADERS_MAX && !b.containsHeaders(name)) {
        break;
      }
      b.putHeaders(cut(name, 128), cut(h.getValue(), CAPTURED_VALUE_LENGTH_MAX));
    }
    return b;
  }

  /** At most {@code max} characters, never ending inside a surrogate pair, and valid UTF-8 for protobuf. */
  private static String cut(String s, int max) {
    String out = s.length() <= max ? s : s.substring(0, Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max);
    return out;
  }

  private static String clientIp(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "";
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!(cause instanceof TooLongFrameException)) {
      log.debug("decoy connection closed: {}", cause.toString());
    }
    ctx.close();
  }
}
