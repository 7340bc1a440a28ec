package fortress.decoy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Reads HTTP/1.x requests off one connection byte by byte, with the limits and leniencies of the
 * front ({@link Front}) the listener imitates, and passes on {@link Head}, then {@link Body} (the
 * body's size and SHA-256: a body is hashed as it arrives and never held), or {@link Refused}, or
 * {@link Cut}.
 *
 * <p>Deadlines are totals, not idle times, so a client that trickles a byte at a time gets no more
 * than the others: the request line and headers must arrive within the header deadline (from the
 * accept, for the first request, and from its first byte for the next ones on a kept-alive
 * connection), a body within the body deadline, and a kept-alive connection must start its next
 * request within the keep-alive deadline. A deadline that passes closes the connection without a
 * word, as nginx does.
 */
final class RequestDecoder extends ByteToMessageDecoder {
  /** After a refused body nginx reads on for 5 s of quiet, at most 30 s, so the client sees the 413. */
  static final long LINGER_IDLE_MS = 5_000;
  static final long LINGER_TOTAL_MS = 30_000;
  static final int CHUNK_LINE_BYTES_MAX = 4096;
  /** How much of a request line that was refused before it ended is kept for the record. */
  static final int REQUEST_LINE_KEPT_BYTES_MAX = 2048;

  record Limits(int headersMax, long bodyBytesMax, long headerTimeoutMs, long bodyTimeoutMs,
      long keepaliveTimeoutMs) {}

  /** A request line and headers that the front takes. */
  record Head(RequestHead head) {}

  /** The end of the request that the last {@link Head} began. */
  record Body(long bytes, String sha256) {}

  /** A request the front refuses; {@code head} holds what was read of it. */
  record Refused(Refusal refusal, RequestHead head, long bodyBytes) {}

  /** A request cut off part way: by a deadline ({@code timedOut}), or by the client leaving. */
  record Cut(RequestHead head, long bodyBytes, boolean timedOut) {}

  private enum Phase { IDLE, HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, LINGER, DONE }

  private final Supplier<Front> fronts;
  private final Limits limits;
  private final MessageDigest digest;
  private Phase phase = Phase.IDLE;
  private boolean first = true;
  private RequestHead head;
  private int headBytes;
  private int headerCount;
  private int bufferUsed;
  private int bufferBytes;
  private int largeBuffers;
  private long remaining;
  private long bodyBytes;
  private int trailerBytes;
  private long lingerEndNanos;
  private ScheduledFuture<?> deadline;

  RequestDecoder(Supplier<Front> fronts, Limits limits) {
    this.fronts = fronts;
    this.limits = limits;
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    arm(ctx, limits.headerTimeoutMs());
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    if (head != null && phase != Phase.LINGER && phase != Phase.DONE) {
      ctx.fireChannelRead(new Cut(head, bodyBytes, false));
    }
    phase = Phase.DONE;
    super.channelInactive(ctx);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (in.isReadable()) {
      switch (phase) {
        case DONE -> in.skipBytes(in.readableBytes());
        case LINGER -> {
          in.skipBytes(in.readableBytes());
          long left = TimeUnit.NANOSECONDS.toMillis(lingerEndNanos - System.nanoTime());
          arm(ctx, Math.max(0, Math.min(LINGER_IDLE_MS, left)));
        }
        case IDLE -> begin(ctx);
        case HEAD -> {
          if (!line(ctx, in, out)) {
            return;
          }
        }
        case BODY, CHUNK_DATA -> body(ctx, in, out);
        case CHUNK_SIZE, CHUNK_END, TRAILERS -> {
          if (!chunk(ctx, in, out)) {
            return;
          }
        }
        default -> throw new IllegalStateException("phase " + phase);
      }
    }
  }

  /** The first byte of a request: its head starts, and its header deadline (after the first request). */
  private void begin(ChannelHandlerContext ctx) {
    head = new RequestHead(fronts.get(), Instant.now());
    headBytes = 0;
    headerCount = 0;
    bufferUsed = 0;
    bufferBytes = head.front.firstBufferBytes;
    largeBuffers = 0;
    bodyBytes = 0;
    digest.reset();
    phase = Phase.HEAD;
    if (!first) {
      arm(ctx, limits.headerTimeoutMs());
    }
    first = false;
  }

  /** Reads one line of the head; false when more bytes are needed or the request was refused. */
  private boolean line(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    Front front = head.front;
    int start = in.readerIndex();
    int lf = in.indexOf(start, in.writerIndex(), (byte) '\n');
    int end = lf < 0 ? in.writerIndex() : lf;
    if (head.requestLine == null) {
      // A method is refused at its first bad byte, as nginx does with a TLS hello on a plain port.
      for (int i = start; i < end; i++) {
        int b = in.getByte(i) & 0xff;
        if (b == ' ' || b == '\r' && (i == start || i == end - 1)) {
          break;
        }
        if (!front.methodByte(b)) {
          return refuse(ctx, in, out, Refusal.BAD_REQUEST);
        }
      }
    }
    Refusal tooLong = head.requestLine == null ? Refusal.URI_TOO_LARGE : Refusal.HEADER_TOO_LARGE;
    if (lf < 0) {
      int partial = in.writerIndex() - start;
      if (partial >= front.lineBytesMax) {
        return refuse(ctx, in, out, tooLong);
      }
      if (headBytes + partial >= front.headBytesMax) {
        return refuse(ctx, in, out, head.requestLine == null ? Refusal.URI_TOO_LARGE : Refusal.HEADERS_TOO_LARGE);
      }
      return false;
    }
    int length = lf - start + 1;
    if (length > front.lineBytesMax) {
      return refuse(ctx, in, out, tooLong);
    }
    if (!buffered(length) || headBytes + length > front.headBytesMax) {
      return refuse(ctx, in, out, head.requestLine == null ? Refusal.URI_TOO_LARGE : Refusal.HEADERS_TOO_LARGE);
    }
    headBytes += length;
    int textEnd = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String text = in.toString(start, textEnd - start, StandardCharsets.ISO_8859_1);
    in.readerIndex(lf + 1);
    Refusal refusal;
    if (head.requestLine == null) {
      refusal = text.isEmpty() ? null : head.requestLine(text);
      if (refusal == null && head.http09) {
        return headComplete(ctx, in, out);
      }
    } else if (text.isEmpty()) {
      return headComplete(ctx, in, out);
    } else if (++headerCount > limits.headersMax()) {
      refusal = Refusal.HEADERS_TOO_LARGE;
    } else {
      refusal = head.header(text);
    }
    return refusal == null || refuse(ctx, in, out, refusal);
  }

  /**
   * Whether a line of {@code length} bytes finds room the way nginx's buffers give it: the first
   * buffer, then a fresh large buffer for a line that does not fit, up to the front's count.
   */
  private boolean buffered(int length) {
    if (bufferUsed + length <= bufferBytes) {
      bufferUsed += length;
      return true;
    }
    if (largeBuffers >= head.front.largeBuffersMax) {
      return false;
    }
    largeBuffers++;
    bufferBytes = head.front.lineBytesMax;
    bufferUsed = length;
    return true;
  }

  private boolean headComplete(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    Refusal refusal = head.finish(limits.bodyBytesMax());
    if (refusal != null) {
      return refuse(ctx, in, out, refusal);
    }
    out.add(new Head(head));
    if (head.chunked) {
      phase = Phase.CHUNK_SIZE;
      trailerBytes = 0;
      arm(ctx, limits.bodyTimeoutMs());
    } else if (head.contentLength > 0) {
      phase = Phase.BODY;
      remaining = head.contentLength;
      arm(ctx, limits.bodyTimeoutMs());
    } else {
      bodyComplete(ctx, out);
    }
    return true;
  }

  private void body(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int n = (int) Math.min(remaining, in.readableBytes());
    digest.update(in.nioBuffer(in.readerIndex(), n));
    in.skipBytes(n);
    remaining -= n;
    bodyBytes += n;
    if (remaining == 0) {
      if (phase == Phase.BODY) {
        bodyComplete(ctx, out);
      } else {
        phase = Phase.CHUNK_END;
      }
    }
  }

  /** A chunk-size line, the line end after a chunk, or a trailer line; false when more bytes are needed. */
  private boolean chunk(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int lf = in.indexOf(start, in.writerIndex(), (byte) '\n');
    int bound = phase == Phase.TRAILERS ? head.front.lineBytesMax - trailerBytes : CHUNK_LINE_BYTES_MAX;
    if (lf < 0) {
      return in.readableBytes() < bound ? false : refuse(ctx, in, out, Refusal.BAD_REQUEST);
    }
    int length = lf - start + 1;
    int textEnd = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String text = in.toString(start, textEnd - start, StandardCharsets.ISO_8859_1);
    in.readerIndex(lf + 1);
    switch (phase) {
      case CHUNK_END -> {
        if (!text.isEmpty()) {
          return refuse(ctx, in, out, Refusal.BAD_REQUEST);
        }
        phase = Phase.CHUNK_SIZE;
      }
      case CHUNK_SIZE -> {
        int semicolon = text.indexOf(';');
        String size = (semicolon < 0 ? text : text.substring(0, semicolon)).strip();
        if (!size.matches("[0-9A-Fa-f]{1,15}")) {
          return refuse(ctx, in, out, Refusal.BAD_REQUEST);
        }
        remaining = Long.parseLong(size, 16);
        if (bodyBytes + remaining > limits.bodyBytesMax()) {
          return refuse(ctx, in, out, Refusal.BODY_TOO_LARGE);
        }
        phase = remaining == 0 ? Phase.TRAILERS : Phase.CHUNK_DATA;
      }
      default -> {
        trailerBytes += length;
        if (text.isEmpty()) {
          bodyComplete(ctx, out);
        }
      }
    }
    return true;
  }

  private void bodyComplete(ChannelHandlerContext ctx, List<Object> out) {
    out.add(new Body(bodyBytes, HexFormat.of().formatHex(digest.digest())));
    if (head.keepAlive) {
      phase = Phase.IDLE;
      arm(ctx, limits.keepaliveTimeoutMs());
    } else {
      phase = Phase.DONE;
      cancel();
    }
    head = null;
  }

  /** Passes the refusal on and stops reading requests: the connection lingers or is closed. */
  private boolean refuse(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, Refusal refusal) {
    if (head.requestLine == null) {
      int n = Math.min(in.readableBytes(), REQUEST_LINE_KEPT_BYTES_MAX);
      int lf = in.indexOf(in.readerIndex(), in.readerIndex() + n, (byte) '\n');
      head.requestLine = in.toString(in.readerIndex(), lf < 0 ? n : lf - in.readerIndex(), StandardCharsets.ISO_8859_1)
          .stripTrailing();
    }
    in.skipBytes(in.readableBytes());
    out.add(new Refused(refusal, head, bodyBytes));
    if (refusal.lingers(head.front)) {
      phase = Phase.LINGER;
      lingerEndNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_TOTAL_MS);
      arm(ctx, LINGER_IDLE_MS);
    } else {
      phase = Phase.DONE;
      cancel();
    }
    head = null;
    return false;
  }

  private void arm(ChannelHandlerContext ctx, long ms) {
    cancel();
    deadline = ctx.executor().schedule(() -> expire(ctx), ms, TimeUnit.MILLISECONDS);
  }

  private void cancel() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }

  /** A deadline passed: what was read of a request is passed on as cut, and the connection closes. */
  private void expire(ChannelHandlerContext ctx) {
    deadline = null;
    if (head != null && phase != Phase.LINGER && phase != Phase.DONE) {
      ctx.fireChannelRead(new Cut(head, bodyBytes, true));
    }
    head = null;
    phase = Phase.DONE;
    ctx.close();
  }
}
