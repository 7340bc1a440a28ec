package fortress.decoy.http;

/** Why the front refused a request before any page was chosen. Each front answers it its own way. */
enum Refusal {
  /** A request line or header that does not parse. */
  BAD_REQUEST,
  /** No Host on HTTP/1.1, two of them, or one that is not a host name. */
  BAD_HOST,
  /** A target that is not a path or absolute URL, a bad %-escape, or a path that climbs above the root. */
  BAD_URL,
  /** A header line the front refuses (NUL; for HTTP.sys also a line without a colon or a bad name). */
  BAD_HEADER,
  /** The request line is longer than a line may be. */
  URI_TOO_LARGE,
  /** One header line is longer than a line may be. */
  HEADER_TOO_LARGE,
  /** All the header lines together, or their count, pass the limit. */
  HEADERS_TOO_LARGE,
  /** An HTTP version above 1.x. */
  VERSION,
  /** A Transfer-Encoding other than chunked. */
  TRANSFER_ENCODING,
  /** A body longer than the configured maximum. */
  BODY_TOO_LARGE;

  /**
   * Whether the connection keeps reading (and discarding) for a while after the answer instead of
   * closing at once: nginx does so for a body it will not take, so the client reads the 413.
   */
  boolean lingers(Front front) {
    return this == BODY_TOO_LARGE && front == Front.NGINX;
  }
}
