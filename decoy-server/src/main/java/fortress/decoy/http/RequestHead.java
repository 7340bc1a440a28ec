package fortress.decoy.http;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A request's line and headers as its front reads them, filled in line by line by
 * {@link RequestDecoder}. Text is kept as ISO-8859-1, one char per byte, so nothing is lost; a
 * refused request keeps what was read up to the refusal, which is what gets captured.
 */
final class RequestHead {
  /** Header lines kept for the record and for the client key (a capture keeps fewer still). */
  static final int HEADERS_KEPT_MAX = 64;

  final Front front;
  final Instant arrival;
  /** The request line as received (null until it is complete). */
  String requestLine;
  String method = "";
  /** The path and query as sent, for the record. */
  String path = "";
  String query = "";
  /** The path with %-escapes decoded and dot segments resolved: what templates are matched on. */
  String routePath = "/";
  boolean http11;
  /** A request line with no version: nginx answers it as HTTP/0.9, with a bare body and no headers. */
  boolean http09;
  final List<String[]> headers = new ArrayList<>();
  long contentLength = -1;
  boolean chunked;
  boolean expectContinue;
  boolean keepAlive;
  private String host;
  private int hosts;
  private int contentLengths;
  private int transferEncodings;
  private String transferEncoding;
  private String connection = "";

  RequestHead(Front front, Instant arrival) {
    this.front = front;
    this.arrival = arrival;
  }

  boolean hasBody() {
    return chunked || contentLength > 0;
  }

  /** Reads the request line; a refusal, or null when it is good. */
  Refusal requestLine(String line) {
    requestLine = line;
    int sp = line.indexOf(' ');
    if (sp <= 0) {
      return Refusal.BAD_REQUEST;
    }
    method = line.substring(0, sp);
    int from = sp;
    while (from < line.length() && line.charAt(from) == ' ') {
      from++;
    }
    int end = line.indexOf(' ', from);
    String version = end < 0 ? "" : line.substring(end).trim();
    if (version.isEmpty()) {
      if (front != Front.NGINX || from == line.length()) {
        return Refusal.BAD_REQUEST;
      }
      // "GET /" is HTTP/0.9 to nginx: GET only, no headers, a bare body and the connection closed.
      http09 = true;
      path = line.substring(from, end < 0 ? line.length() : end);
      return method.equals("GET") ? target(path) : Refusal.BAD_REQUEST;
    }
    String target = line.substring(from, end);
    if (!version.matches("HTTP/[0-9]{1,3}\\.[0-9]{1,3}")) {
      return Refusal.BAD_REQUEST;
    }
    int major = Integer.parseInt(version.substring(5, version.indexOf('.')));
    if (major != 1) {
      return major > 1 ? Refusal.VERSION : Refusal.BAD_REQUEST;
    }
    http11 = !version.equals("HTTP/1.0");
    return target(target);
  }

  /** Reads the request target: a path, or an absolute URL whose host then stands for Host. */
  private Refusal target(String target) {
    for (int i = 0; i < target.length(); i++) {
      if (target.charAt(i) < 0x21 || target.charAt(i) == 0x7f) {
        return Refusal.BAD_REQUEST;
      }
    }
    if (!target.startsWith("/")) {
      int scheme = target.indexOf("://");
      if (scheme <= 0 || !target.substring(0, scheme).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
        return Refusal.BAD_URL;
      }
      int slash = target.indexOf('/', scheme + 3);
      if (slash < 0 && front == Front.NGINX) {
        return Refusal.BAD_URL;
      }
      host = slash < 0 ? target.substring(scheme + 3) : target.substring(scheme + 3, slash);
      hosts = -1;
      target = slash < 0 ? "/" : target.substring(slash);
      if (!validHost(host)) {
        return Refusal.BAD_HOST;
      }
    }
    int q = target.indexOf('?');
    path = q < 0 ? target : target.substring(0, q);
    query = q < 0 ? "" : target.substring(q + 1);
    // A fragment is not sent by browsers; a server that gets one ends the path there.
    int hash = path.indexOf('#');
    return route(hash < 0 ? path : path.substring(0, hash));
  }

  /**
   * Decodes %-escapes and resolves "." and ".." as the front does: nginx refuses a path that climbs
   * above the root; HTTP.sys stops at the root, and refuses a segment longer than 260 characters.
   */
  private Refusal route(String path) {
    List<String> segments = new ArrayList<>();
    String[] parts = path.substring(1).split("/", -1);
    for (int i = 0; i < parts.length; i++) {
      String segment = decode(parts[i]);
      if (segment == null || segment.indexOf('\0') >= 0) {
        return Refusal.BAD_URL;
      }
      if (front == Front.HTTP_SYS && segment.length() > 260) {
        return Refusal.BAD_URL;
      }
      boolean last = i == parts.length - 1;
      if (segment.equals("..")) {
        if (segments.isEmpty()) {
          if (front == Front.NGINX) {
            return Refusal.BAD_URL;
          }
        } else {
          segments.remove(segments.size() - 1);
        }
        if (last) {
          segments.add("");
        }
      } else if (segment.equals(".") || segment.isEmpty() && !last) {
        if (last) {
          segments.add("");
        }
      } else {
        segments.add(segment);
      }
    }
    routePath = "/" + String.join("/", segments);
    return null;
  }

  /** The %-decoded segment, or null if an escape is not two hex digits. */
  private static String decode(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '%') {
        out.append(c);
        continue;
      }
      if (i + 2 >= s.length()) {
        return null;
      }
      int hi = Character.digit(s.charAt(i + 1), 16);
      int lo = Character.digit(s.charAt(i + 2), 16);
      if (hi < 0 || lo < 0) {
        return null;
      }
      out.append((char) (hi * 16 + lo));
      i += 2;
    }
    return out.toString();
  }

  /**
   * Reads one header line; a refusal, or null when the front takes (or ignores) it. Only the first
   * {@link #HEADERS_KEPT_MAX} are kept for the record, but every one is read.
   */
  Refusal header(String line) {
    int colon = line.indexOf(':');
    String name = colon < 0 ? line : line.substring(0, colon);
    String value = colon < 0 ? "" : line.substring(colon + 1).strip();
    if (line.indexOf('\0') >= 0 || front == Front.NGINX && !nginxName(name)) {
      // nginx refuses a name with a space, a control character or DEL (so also a folded line).
      return front == Front.NGINX ? Refusal.BAD_REQUEST : Refusal.BAD_HEADER;
    }
    if (headers.size() < HEADERS_KEPT_MAX) {
      headers.add(new String[] {name, value});
    }
    if (colon < 0 || !front.validName(name)) {
      // nginx ignores what is not a header (ignore_invalid_headers); HTTP.sys refuses it.
      return front == Front.NGINX ? null : Refusal.BAD_HEADER;
    }
    switch (name.toLowerCase(Locale.ROOT)) {
      case "host" -> {
        if (hosts >= 0) {
          hosts++;
          host = value;
        }
      }
      case "content-length" -> {
        contentLengths++;
        contentLength = value.matches("[0-9]{1,18}") ? Long.parseLong(value) : -2;
      }
      case "transfer-encoding" -> {
        transferEncodings++;
        transferEncoding = value;
      }
      case "expect" -> expectContinue = value.equalsIgnoreCase("100-continue");
      case "connection" -> connection = value.toLowerCase(Locale.ROOT);
      default -> { }
    }
    return null;
  }

  private static boolean nginxName(String name) {
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) <= 0x20 || name.charAt(i) == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** Checks the headers together once the head is complete; a refusal, or null. */
  Refusal finish(long bodyBytesMax) {
    if (http09) {
      return null;
    }
    if (hosts > 1 || host == null && http11 || host != null && !validHost(host)) {
      return Refusal.BAD_HOST;
    }
    if (contentLengths > 1 || contentLength == -2 || transferEncodings > 1) {
      return Refusal.BAD_REQUEST;
    }
    if (transferEncoding != null) {
      if (!transferEncoding.equalsIgnoreCase("chunked")) {
        return Refusal.TRANSFER_ENCODING;
      }
      if (contentLengths > 0 || !http11 && front == Front.NGINX) {
        return Refusal.BAD_REQUEST;
      }
      chunked = true;
    }
    expectContinue &= http11;
    keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
    if (contentLength > bodyBytesMax) {
      return Refusal.BODY_TOO_LARGE;
    }
    return null;
  }

  private static boolean validHost(String host) {
    if (host.isEmpty() || host.charAt(0) == '.' || host.contains("..")) {
      return false;
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') {
        return false;
      }
    }
    return true;
  }
}
