package fortress.decoy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One response as it goes on the wire: a status line, headers in the order and case the imitated
 * server writes them, and a body. Written by hand rather than by an HTTP encoder, so nothing about
 * it is the encoder's choice.
 */
final class Reply {
  final int status;
  private final String reason;
  private final List<String[]> headers = new ArrayList<>();
  private final byte[] body;
  /** Whether the connection is closed after this reply (it says so in its headers where its server does). */
  final boolean close;
  /** Whether this is a template's own answer, which a client that sent Expect: 100-continue is invited to. */
  final boolean served;

  Reply(int status, String reason, byte[] body, boolean close, boolean served) {
    this.status = status;
    this.reason = reason;
    this.body = body;
    this.close = close;
    this.served = served;
  }

  /** Sets a header in place if one of that name (in any case) is there, else adds it at the end. */
  Reply put(String name, String value) {
    for (String[] h : headers) {
      if (h[0].equalsIgnoreCase(name)) {
        h[1] = value;
        return this;
      }
    }
    headers.add(new String[] {name, value});
    return this;
  }

  /** The same reply, closing the connection (and saying so, where it has a Connection header). */
  Reply closing() {
    Reply r = new Reply(status, reason, body, true, served);
    for (String[] h : headers) {
      r.headers.add(new String[] {h[0], h[0].equals("Connection") ? "close" : h[1]});
    }
    return r;
  }

  /** The bare body, as an HTTP/0.9 answer is. */
  ByteBuf encodeBody(ByteBufAllocator alloc) {
    return alloc.buffer(body.length).writeBytes(body);
  }

  /** The bytes of the reply; a reply to HEAD carries the same headers and no body. */
  ByteBuf encode(ByteBufAllocator alloc, boolean withBody) {
    StringBuilder s = new StringBuilder(256).append("HTTP/1.1 ").append(status).append(' ').append(reason)
        .append("\r\n");
    for (String[] h : headers) {
      s.append(h[0]).append(": ").append(h[1]).append("\r\n");
    }
    s.append("\r\n");
    byte[] head = s.toString().getBytes(StandardCharsets.ISO_8859_1);
    ByteBuf out = alloc.buffer(head.length + (withBody ? body.length : 0));
    out.writeBytes(head);
    if (withBody) {
      out.writeBytes(body);
    }
    return out;
  }
}
