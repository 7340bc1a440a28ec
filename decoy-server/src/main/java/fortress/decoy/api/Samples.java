package fortress.decoy.api;

import static com.google.common.base.Preconditions.checkState;

import fortress.decoy.v1.Interaction;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one recorded request contributes to an export: a MALICIOUS sample of the shadow contract,
 * with every field capped so that no request, however large it was stored, takes more than
 * {@link #SAMPLE_BYTES_MAX} bytes. A string that is cut ends with a marker giving its original
 * length ({@link #cut}); headers past {@link #HEADERS_MAX} or {@link #HEADERS_BYTES_MAX} are left
 * out, and the header {@link #HEADERS_CUT} says how many were kept of how many.
 *
 * <p>requests_per_minute counts the client's requests in the minute up to each one, among those
 * this tracker was shown: the export shows it the same requests for a page on every attempt, so a
 * retried page is the same page.
 */
final class Samples {
  static final int IP_CHARS_MAX = 64;
  static final int METHOD_CHARS_MAX = 64;
  /** The shadow server's limit on an attribute's length; the decoy listener keeps paths that long. */
  static final int PATH_CHARS_MAX = 2048;
  static final int HEADER_NAME_CHARS_MAX = 128;
  static final int HEADER_VALUE_CHARS_MAX = 512;
  static final int HEADERS_MAX = 32;
  /** Header names and values in UTF-8; twice the decoy listener's 8 KiB, which is in ISO-8859-1. */
  static final int HEADERS_BYTES_MAX = 16 * 1024;
  /** Set on a sample whose request had more headers than were kept: "kept K of N headers". */
  static final String HEADERS_CUT = "x-decoy-headers-truncated";
  /** The most one sample takes serialized, with its field tag: every cap above at 3 bytes a character, and room. */
  static final int SAMPLE_BYTES_MAX = 32 * 1024;
  private static final long MINUTE_NANOS = 60_000_000_000L;
  private static final int ENTRY_OVERHEAD_BYTES = 10;

  private final Map<String, ArrayDeque<Long>> recent = new HashMap<>();

  /** Counts a request that came before the first one of the page. */
  void seen(String clientIp, long timeNanos) {
    count(clientIp, timeNanos);
  }

  /** The sample of {@code i}, counted for the requests after it. */
  Sample sample(Interaction i) {
    long t = i.getTime().getSeconds() * 1_000_000_000L + i.getTime().getNanos();
    Sample s = Sample.newBuilder().setAttributes(attributes(i, count(i.getClientIp(), t)))
        .setLabel(Label.LABEL_MALICIOUS).build();
    checkState(s.getSerializedSize() + 4 <= SAMPLE_BYTES_MAX, "a sample of %s bytes passes the cap of %s",
        s.getSerializedSize(), SAMPLE_BYTES_MAX);
    return s;
  }

  private int count(String clientIp, long t) {
    ArrayDeque<Long> times = recent.computeIfAbsent(clientIp, k -> new ArrayDeque<>());
    while (!times.isEmpty() && times.peekFirst() < t - MINUTE_NANOS) {
      times.pollFirst();
    }
    times.addLast(t);
    return times.size();
  }

  /** The shadow server's view of a recorded request, capped. */
  static RequestAttributes attributes(Interaction i, long requestsPerMinute) {
    RequestAttributes.Builder b = RequestAttributes.newBuilder()
        .setIp(cut(i.getClientIp(), IP_CHARS_MAX))
        .setMethod(cut(i.getMethod(), METHOD_CHARS_MAX))
        .setPath(cut(i.getPath(), PATH_CHARS_MAX))
        .setUserAgent(cut(i.getHeadersOrDefault("user-agent", ""), HEADER_VALUE_CHARS_MAX))
        .setBytes(Math.max(0, i.getBodyBytes()))
        .setRequestsPerMinute(requestsPerMinute);
    int bytes = 0;
    for (Map.Entry<String, String> h : i.getHeadersMap().entrySet()) {
      String name = cut(h.getKey().toLowerCase(Locale.ROOT), HEADER_NAME_CHARS_MAX);
      String value = cut(h.getValue(), HEADER_VALUE_CHARS_MAX);
      int entry = utf8Bytes(name) + utf8Bytes(value) + ENTRY_OVERHEAD_BYTES;
      if (name.isEmpty() || b.getHeadersCount() >= HEADERS_MAX || bytes + entry > HEADERS_BYTES_MAX) {
        continue;
      }
      b.putHeaders(name, value);
      bytes += entry;
    }
    if (b.getHeadersCount() < i.getHeadersCount()) {
      b.putHeaders(HEADERS_CUT, "kept " + b.getHeadersCount() + " of " + i.getHeadersCount() + " headers");
    }
    return b.build();
  }

  /**
   * {@code value}, or when it is longer than {@code charsMax} characters its start followed by
   * "...[truncated from N chars]", {@code charsMax} characters in all and never ending inside a
   * surrogate pair.
   */
  static String cut(String value, int charsMax) {
    if (value.length() <= charsMax) {
      return value;
    }
    String marker = "...[truncated from " + value.length() + " chars]";
    checkState(marker.length() < charsMax, "a cap of %s characters leaves no room for the marker", charsMax);
    int keep = charsMax - marker.length();
    if (Character.isHighSurrogate(value.charAt(keep - 1))) {
      keep--;
    }
    return value.substring(0, keep) + marker;
  }

  /** An upper bound of the UTF-8 size protobuf gives {@code s} (a lone surrogate becomes one byte). */
  private static int utf8Bytes(String s) {
    int bytes = 0;
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return bytes;
  }
}
