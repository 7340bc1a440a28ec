package fortress.decoy.http;

import fortress.decoy.template.Pages;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.TreeMap;

/**
 * The replies of each imitated server, with its headers in its order: nginx (checked against
 * nginx 1.22.1's raw answers in src/test/resources/nginx), an application behind nginx (the JSON
 * API family), IIS 10 and HTTP.sys (from their documented stock answers; see {@link Pages}).
 */
final class Replies {
  /** IMF-fixdate (RFC 9110 5.6.7): a two-digit day, English names, GMT. */
  static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'",
      Locale.US).withZone(ZoneOffset.UTC);
  /** Template pages were "last modified" at a fixed time within the year after this one, picked by seed. */
  private static final long LAST_MODIFIED_FROM_EPOCH_SECONDS = 1_672_531_200L;
  private static final long LAST_MODIFIED_SPAN_SECONDS = 365L * 24 * 3600;
  /** Seconds between 1601-01-01 (Windows FILETIME) and 1970-01-01. */
  private static final long FILETIME_EPOCH_OFFSET_SECONDS = 11_644_473_600L;
  private static final byte[] NONE = new byte[0];

  private Replies() {}

  static String date(Instant t) {
    return HTTP_DATE.format(t);
  }

  /** The reply of a front to a request it refuses. */
  static Reply refusal(Front front, Refusal refusal) {
    if (front == Front.HTTP_SYS) {
      return switch (refusal) {
        case BAD_HOST -> httpSys(Pages.HttpSysError.INVALID_HOSTNAME);
        case BAD_URL -> httpSys(Pages.HttpSysError.INVALID_URL);
        case BAD_HEADER -> httpSys(Pages.HttpSysError.INVALID_HEADER);
        case URI_TOO_LARGE -> httpSys(Pages.HttpSysError.URL_TOO_LONG);
        case HEADER_TOO_LARGE -> httpSys(Pages.HttpSysError.HEADER_FIELD_TOO_LONG);
        case HEADERS_TOO_LARGE -> httpSys(Pages.HttpSysError.REQUEST_TOO_LONG);
        // IIS's request filtering refuses a long body with its 404 (substatus 13, shown as the plain 404).
        case BODY_TOO_LARGE -> iis(404, false, true);
        case BAD_REQUEST, VERSION, TRANSFER_ENCODING -> httpSys(Pages.HttpSysError.BAD_REQUEST);
      };
    }
    return switch (refusal) {
      case HEADER_TOO_LARGE, HEADERS_TOO_LARGE -> nginxPage(400, "Bad Request", Pages.nginxHeaderTooLargePage(), false);
      case URI_TOO_LARGE -> nginx(414, false);
      case BODY_TOO_LARGE -> nginx(413, false);
      case VERSION -> nginx(505, false);
      case TRANSFER_ENCODING -> nginx(501, false);
      case BAD_REQUEST, BAD_HOST, BAD_URL, BAD_HEADER -> nginx(400, false);
    };
  }

  /** nginx's own error page. */
  static Reply nginx(int status, boolean keepAlive) {
    return nginxPage(status, Pages.nginxReason(status), Pages.nginxPage(status), keepAlive);
  }

  private static Reply nginxPage(int status, String reason, String page, boolean keepAlive) {
    byte[] body = page.getBytes(StandardCharsets.ISO_8859_1);
    return new Reply(status, reason, body, !keepAlive, false)
        .put("Server", Pages.NGINX)
        .put("Date", date(Instant.now()))
        .put("Content-Type", "text/html")
        .put("Content-Length", Integer.toString(body.length))
        .put("Connection", keepAlive ? "keep-alive" : "close");
  }

  /** The error an application behind nginx answers with, in JSON. */
  static Reply json(int status, boolean keepAlive) {
    byte[] body = Pages.jsonPage(status).getBytes(StandardCharsets.UTF_8);
    return new Reply(status, Pages.standardReason(status), body, !keepAlive, false)
        .put("Server", Pages.NGINX)
        .put("Date", date(Instant.now()))
        .put("Content-Type", "application/json")
        .put("Content-Length", Integer.toString(body.length))
        .put("Connection", keepAlive ? "keep-alive" : "close");
  }

  /**
   * An error page of IIS itself: 403, 404, 405 or 500. IIS says Connection: close only when it
   * closes on its own ({@code refused}); a connection the client asked to close closes quietly.
   */
  static Reply iis(int status, boolean keepAlive, boolean refused) {
    byte[] body = Pages.iisPage(status).getBytes(StandardCharsets.ISO_8859_1);
    Reply r = new Reply(status, Pages.standardReason(status), body, !keepAlive || refused, false);
    if (status == 405) {
      r.put("Allow", "GET, HEAD, OPTIONS, TRACE");
    }
    r.put("Content-Type", "text/html")
        .put("Server", Pages.IIS)
        .put("X-Powered-By", "ASP.NET")
        .put("Date", date(Instant.now()))
        .put("Content-Length", Integer.toString(body.length));
    if (refused) {
      r.put("Connection", "close");
    }
    return r;
  }

  /** A refusal HTTP.sys answers before IIS sees the request; it always closes the connection. */
  static Reply httpSys(Pages.HttpSysError error) {
    byte[] body = error.page().getBytes(StandardCharsets.US_ASCII);
    return new Reply(error.status(), Pages.standardReason(error.status()), body, true, false)
        .put("Content-Type", "text/html; charset=us-ascii")
        .put("Server", Pages.HTTP_SYS)
        .put("Date", date(Instant.now()))
        .put("Connection", "close")
        .put("Content-Length", Integer.toString(body.length));
  }

  /** An error in the style of the family that would answer it. */
  static Reply error(TemplateFamily family, int status, boolean keepAlive) {
    return switch (family) {
      case TEMPLATE_FAMILY_JSON_API -> json(status, keepAlive);
      case TEMPLATE_FAMILY_IIS -> iis(status, keepAlive, false);
      default -> nginx(status, keepAlive);
    };
  }

  /**
   * A template's page. A 200 from the nginx and IIS families looks like a static file: a
   * Last-Modified fixed per template, an ETag in the server's own format and Accept-Ranges. The
   * template's headers replace the family's in place, so none appears twice.
   */
  static Reply template(Template t, String rendered, boolean keepAlive) {
    byte[] body = rendered.getBytes(StandardCharsets.UTF_8);
    TemplateFamily family = t.getFamily();
    boolean file = t.getStatus() == 200 && family != TemplateFamily.TEMPLATE_FAMILY_JSON_API;
    long modified = LAST_MODIFIED_FROM_EPOCH_SECONDS + Math.floorMod(t.getSeed(), LAST_MODIFIED_SPAN_SECONDS);
    Reply r;
    if (family == TemplateFamily.TEMPLATE_FAMILY_IIS) {
      r = new Reply(t.getStatus(), Pages.standardReason(t.getStatus()), body, !keepAlive, true)
          .put("Content-Type", "text/html");
      if (file) {
        long filetime = (modified + FILETIME_EPOCH_OFFSET_SECONDS) * 10_000_000L;
        r.put("Last-Modified", date(Instant.ofEpochSecond(modified)))
            .put("Accept-Ranges", "bytes")
            .put("ETag", "\"" + Long.toHexString(filetime) + ":0\"");
      }
      r.put("Server", Pages.IIS).put("X-Powered-By", "ASP.NET");
      new TreeMap<>(t.getHeadersMap()).forEach(r::put);
      return r.put("Date", date(Instant.now())).put("Content-Length", Integer.toString(body.length));
    }
    boolean json = family == TemplateFamily.TEMPLATE_FAMILY_JSON_API;
    r = new Reply(t.getStatus(), json ? Pages.standardReason(t.getStatus()) : Pages.nginxReason(t.getStatus()), body,
        !keepAlive, true)
        .put("Server", Pages.NGINX)
        .put("Date", date(Instant.now()))
        .put("Content-Type", json ? "application/json" : "text/html")
        .put("Content-Length", Integer.toString(body.length));
    if (file) {
      r.put("Last-Modified", date(Instant.ofEpochSecond(modified)));
    }
    r.put("Connection", keepAlive ? "keep-alive" : "close");
    if (file) {
      r.put("ETag", "\"" + Long.toHexString(modified) + "-" + Integer.toHexString(body.length) + "\"")
          .put("Accept-Ranges", "bytes");
    }
    new TreeMap<>(t.getHeadersMap()).forEach(r::put);
    return r;
  }
}
