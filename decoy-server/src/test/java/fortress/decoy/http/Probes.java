package fortress.decoy.http;

import fortress.decoy.TestDecoy;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A fixed set of raw HTTP requests (exact bytes, over a plain socket) and the raw answers a server
 * gives them. The same requests are recorded from a real nginx into golden files
 * ({@code src/test/resources/nginx/capture.sh} runs {@link #main}) and sent to the decoy by
 * {@link NginxParityTest}. Only the JDK is used, so the capture needs no build.
 */
public final class Probes {
  /** The page the nginx serves as /index.html and the decoy's template serves at /: the same bytes. */
  public static final String ROOT_PAGE = "<html><body>hello</body></html>\n";

  /** One probe: a name (its golden file's) and the bytes sent, in pieces with a pause between them. */
  public record Probe(String name, List<byte[]> pieces) {
    boolean head() {
      return new String(pieces.get(0), StandardCharsets.ISO_8859_1).startsWith("HEAD ");
    }
  }

  private Probes() {}

  private static Probe probe(String name, String... pieces) {
    List<byte[]> bytes = new ArrayList<>();
    for (String p : pieces) {
      bytes.add(p.getBytes(StandardCharsets.ISO_8859_1));
    }
    return new Probe(name, bytes);
  }

  /** Every probe, in a fixed order. */
  /** A decoy serving {@link #ROOT_PAGE} at {@code /} in {@code family}, with rate limits out of the way. */
  static TestDecoy decoyServingRoot(TemplateFamily family) {
    TestDecoy decoy = new TestDecoy("--http-rate-per-client-per-second=100000", "--http-burst-per-client=100000");
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(TestDecoy.id()).setTemplate(
        Template.newBuilder().setTemplateId("root").setMethod("GET").setPathPattern("/").setStatus(200)
            .setFamily(family).setSeed(7).setBody(ROOT_PAGE)).build());
    return decoy;
  }

  public static List<Probe> all() {
    StringBuilder over32k = new StringBuilder();
    for (int i = 0; i < 9; i++) {
      over32k.append("X-H").append(i).append(": ").append("b".repeat(4000)).append("\r\n");
    }
    return List.of(
        probe("get_root", "GET / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("get_nonexistent", "GET /nonexistent HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("head_root", "HEAD / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("head_nonexistent", "HEAD /nonexistent HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("post_root", "POST / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 3\r\n\r\nabc"),
        probe("put_root", "PUT / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 3\r\n\r\nabc"),
        probe("unknown_method", "FOO / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("unknown_method_nonexistent", "FOO /nonexistent HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("trace", "TRACE / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("lowercase_method", "get / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("http11_without_host", "GET / HTTP/1.1\r\n\r\n"),
        probe("http10_without_host", "GET / HTTP/1.0\r\n\r\n"),
        probe("http10_keep_alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        probe("connection_close", "GET /nonexistent HTTP/1.1\r\nHost: decoy.test\r\nConnection: close\r\n\r\n"),
        probe("duplicate_host", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"),
        probe("invalid_host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        probe("header_without_colon", "GET / HTTP/1.1\r\nHost: decoy.test\r\nNoColonHere\r\n\r\n"),
        probe("header_10k", "GET / HTTP/1.1\r\nHost: decoy.test\r\nX-Big: " + "a".repeat(10 * 1024) + "\r\n\r\n"),
        probe("header_8k_fits", "GET / HTTP/1.1\r\nHost: decoy.test\r\nX-Big: " + "a".repeat(8192 - 9) + "\r\n\r\n"),
        probe("headers_over_32k", "GET / HTTP/1.1\r\nHost: decoy.test\r\n" + over32k + "\r\n"),
        probe("expect_continue_get", "GET / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 5\r\n"
            + "Expect: 100-continue\r\n\r\n", "hello"),
        probe("expect_continue_post", "POST / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 5\r\n"
            + "Expect: 100-continue\r\n\r\n", "hello"),
        probe("body_too_large", "POST / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 5000000\r\n\r\n"),
        probe("body_too_large_expect", "POST / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 5000000\r\n"
            + "Expect: 100-continue\r\n\r\n"),
        probe("bad_content_length", "GET / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: abc\r\n\r\n"),
        probe("duplicate_content_length", "GET / HTTP/1.1\r\nHost: decoy.test\r\nContent-Length: 1\r\n"
            + "Content-Length: 1\r\n\r\na"),
        probe("chunked_post_nonexistent", "POST /nonexistent HTTP/1.1\r\nHost: decoy.test\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        probe("transfer_encoding_gzip", "GET / HTTP/1.1\r\nHost: decoy.test\r\nTransfer-Encoding: gzip\r\n\r\n"),
        probe("garbage_request_line", "GARBAGE\r\n\r\n"),
        probe("tls_client_hello", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003"),
        probe("http2_version", "GET / HTTP/2.0\r\nHost: decoy.test\r\n\r\n"),
        probe("absolute_uri", "GET http://decoy.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n"),
        probe("relative_target", "GET x HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("encoded_traversal", "GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("dot_segments", "GET /a/../ HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("bad_escape", "GET /%zz HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("long_uri", "GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: decoy.test\r\n\r\n"),
        probe("leading_empty_lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: decoy.test\r\n\r\n"));
  }

  /** What came back for a probe, as bytes in ISO-8859-1, and whether the server closed soon after. */
  public record Answer(String raw, boolean closed) {}

  /** Sends a probe on a fresh connection and returns what came back, as bytes in ISO-8859-1. */
  public static String exchange(String host, int port, Probe probe) throws IOException {
    return exchange(host, port, probe, false).raw();
  }

  /**
   * Sends a probe on a fresh connection; with {@code watchClose}, waits up to half a second after the
   * answer to see whether the server closes the connection.
   */
  public static Answer exchange(String host, int port, Probe probe, boolean watchClose) throws IOException {
    try (Socket s = new Socket(host, port)) {
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      for (int i = 0; i < probe.pieces().size(); i++) {
        s.getOutputStream().write(probe.pieces().get(i));
        s.getOutputStream().flush();
        boolean last = i == probe.pieces().size() - 1;
        s.setSoTimeout(last ? 5_000 : 1_000);
        read(in, got, last, probe.head());
      }
      boolean closed = false;
      if (watchClose) {
        s.setSoTimeout(500);
        try {
          closed = in.read() < 0;
        } catch (SocketTimeoutException | java.net.SocketException open) {
          closed = open instanceof java.net.SocketException;
        }
      }
      return new Answer(got.toString(StandardCharsets.ISO_8859_1), closed);
    }
  }

  /** One parsed response. */
  record Response(String statusLine, List<String[]> headers, String body) {}

  /** The responses in {@code raw}: any 100 Continue, then the final one. */
  static List<Response> parse(String raw, boolean head) {
    List<Response> out = new ArrayList<>();
    int at = 0;
    while (at < raw.length()) {
      int end = raw.indexOf("\r\n\r\n", at);
      if (end < 0) {
        out.add(new Response(raw.substring(at), List.of(), ""));
        break;
      }
      String[] lines = raw.substring(at, end).split("\r\n");
      List<String[]> headers = new ArrayList<>();
      int length = 0;
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        String[] h = colon < 0 ? new String[] {lines[i], ""} : new String[] {lines[i].substring(0, colon),
            lines[i].substring(colon + 1).trim()};
        headers.add(h);
        if (h[0].equalsIgnoreCase("Content-Length")) {
          length = Integer.parseInt(h[1]);
        }
      }
      boolean interim = lines[0].startsWith("HTTP/1.1 1");
      int bodyEnd = interim || head ? end + 4 : Math.min(raw.length(), end + 4 + length);
      out.add(new Response(lines[0], headers, raw.substring(end + 4, bodyEnd)));
      at = bodyEnd;
    }
    return out;
  }

  private static final String IMF_FIXDATE = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
      + "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT";

  /**
   * How {@code actual} differs from {@code expected}: status lines, header names in order and case,
   * header values and bodies. Only what must differ between two servers is let through: Date and
   * Last-Modified values (each must still be an IMF-fixdate) and the time half of an ETag.
   */
  public static List<String> differences(String expected, String actual, boolean head) {
    List<String> out = new ArrayList<>();
    List<Response> want = parse(expected, head);
    List<Response> got = parse(actual, head);
    if (want.size() != got.size()) {
      out.add("responses: " + want.size() + " expected, " + got.size() + " got");
    }
    for (int i = 0; i < Math.min(want.size(), got.size()); i++) {
      Response w = want.get(i);
      Response g = got.get(i);
      if (!w.statusLine().equals(g.statusLine())) {
        out.add("status line: '" + w.statusLine() + "' expected, '" + g.statusLine() + "' got");
      }
      List<String> wantNames = w.headers().stream().map(h -> h[0]).toList();
      List<String> gotNames = g.headers().stream().map(h -> h[0]).toList();
      if (!wantNames.equals(gotNames)) {
        out.add("header names: " + wantNames + " expected, " + gotNames + " got");
      }
      for (String[] wh : w.headers()) {
        String gv = g.headers().stream().filter(h -> h[0].equals(wh[0])).map(h -> h[1]).findFirst().orElse(null);
        if (gv == null) {
          continue;
        }
        boolean same = switch (wh[0]) {
          case "Date", "Last-Modified" -> gv.matches(IMF_FIXDATE);
          case "ETag" -> wh[1].matches("\"[0-9a-f]+-[0-9a-f]+\"")
              ? gv.matches("\"[0-9a-f]+-[0-9a-f]+\"") && gv.endsWith(wh[1].substring(wh[1].indexOf('-')))
              : gv.matches("\"[0-9a-f]+:0\"");
          default -> wh[1].equals(gv);
        };
        if (!same) {
          out.add(wh[0] + ": '" + wh[1] + "' expected, '" + gv + "' got");
        }
      }
      if (!w.body().equals(g.body())) {
        out.add("body: " + w.body().length() + " chars expected, " + g.body().length() + " got: '"
            + g.body().substring(0, Math.min(200, g.body().length())) + "'");
      }
    }
    return out;
  }

  /** Reads until the end of a final (non-1xx) response when {@code untilFinal}, else until a quiet second. */
  private static void read(InputStream in, ByteArrayOutputStream got, boolean untilFinal, boolean head)
      throws IOException {
    byte[] buf = new byte[65536];
    try {
      while (!(untilFinal && complete(got.toString(StandardCharsets.ISO_8859_1), head))) {
        int n = in.read(buf);
        if (n < 0) {
          return;
        }
        got.write(buf, 0, n);
      }
    } catch (SocketTimeoutException quiet) {
      // Nothing more came.
    }
  }

  /** Whether {@code raw} holds a whole final response (after any 100 Continue). */
  static boolean complete(String raw, boolean head) {
    int at = 0;
    while (true) {
      int end = raw.indexOf("\r\n\r\n", at);
      if (end < 0) {
        return false;
      }
      String headers = raw.substring(at, end);
      if (headers.startsWith("HTTP/1.1 1")) {
        at = end + 4;
        continue;
      }
      int length = 0;
      for (String line : headers.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      return head || raw.length() >= end + 4 + length;
    }
  }

  /**
   * {@code capture HOST:PORT DIR} records every probe's answer into DIR/NAME.http; {@code diff
   * HOST:PORT DIR} sends every probe to a server and prints how its answers differ from DIR's.
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 3 || !args[0].equals("capture") && !args[0].equals("diff")) {
      System.err.println("usage: Probes capture|diff HOST:PORT DIR");
      System.exit(2);
    }
    String host = args[1].substring(0, args[1].lastIndexOf(':'));
    int port = Integer.parseInt(args[1].substring(args[1].lastIndexOf(':') + 1));
    Path dir = Path.of(args[2]);
    if (args[0].equals("diff")) {
      int differing = 0;
      for (Probe p : all()) {
        Path golden = dir.resolve(p.name() + ".http");
        if (!Files.exists(golden)) {
          continue;
        }
        String expected = Files.readString(golden, StandardCharsets.ISO_8859_1);
        List<String> d = differences(expected, exchange(host, port, p), p.head());
        System.out.println(p.name() + ": " + (d.isEmpty() ? "same" : String.join("; ", d)));
        differing += d.isEmpty() ? 0 : 1;
      }
      System.out.println(differing + " probes differ");
      System.exit(differing == 0 ? 0 : 1);
    }
    Files.createDirectories(dir);
    for (Probe p : all()) {
      String answer = exchange(host, port, p);
      Files.write(dir.resolve(p.name() + ".http"), answer.getBytes(StandardCharsets.ISO_8859_1));
      System.out.println(p.name() + ": " + (answer.isEmpty() ? "(nothing)" : answer.substring(0,
          Math.max(0, answer.indexOf("\r\n")))));
    }
  }
}
