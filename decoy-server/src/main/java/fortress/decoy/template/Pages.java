package fortress.decoy.template;

import fortress.decoy.v1.TemplateFamily;
import java.util.Map;

/**
 * What each server a family imitates writes on its own: its Server header, its reason phrases and
 * its error pages, byte for byte. Nothing here names Java, Netty or Fortress.
 *
 * <p>nginx: Debian 12's nginx 1.22.1 with its stock settings (server_tokens on). Every string here
 * is checked against that nginx's raw answers, recorded in {@code src/test/resources/nginx/}.
 *
 * <p>IIS 10 and HTTP.sys (which answers for IIS before a request reaches it) cannot be run here:
 * their pages are the stock files of a Windows Server install ({@code inetpub/custerr/en-US/*.htm})
 * and HTTP.sys's built-in pages, with CRLF line ends. The lengths of these bodies (1245 for the
 * 404, 1293 for the 405, 334 for "Invalid Hostname", 311 for a badly formed request, 315 for its
 * 404) are the Content-Length values real IIS 10 servers send, which is the check we can make.
 */
public final class Pages {
  /** The Server header and error-page signature of the nginx family. */
  public static final String NGINX = "nginx/1.22.1";
  public static final String IIS = "Microsoft-IIS/10.0";
  /** The Server header HTTP.sys writes on the errors it answers itself, before IIS sees a request. */
  public static final String HTTP_SYS = "Microsoft-HTTPAPI/2.0";

  /** nginx's own status lines (ngx_http_status_lines); a status not here is written with no reason. */
  private static final Map<Integer, String> NGINX_REASONS = Map.ofEntries(Map.entry(200, "OK"),
      Map.entry(201, "Created"), Map.entry(202, "Accepted"), Map.entry(204, "No Content"),
      Map.entry(206, "Partial Content"), Map.entry(301, "Moved Permanently"), Map.entry(302, "Moved Temporarily"),
      Map.entry(303, "See Other"), Map.entry(304, "Not Modified"), Map.entry(307, "Temporary Redirect"),
      Map.entry(308, "Permanent Redirect"), Map.entry(400, "Bad Request"), Map.entry(401, "Unauthorized"),
      Map.entry(402, "Payment Required"), Map.entry(403, "Forbidden"), Map.entry(404, "Not Found"),
      Map.entry(405, "Not Allowed"), Map.entry(406, "Not Acceptable"), Map.entry(408, "Request Time-out"),
      Map.entry(409, "Conflict"), Map.entry(410, "Gone"), Map.entry(411, "Length Required"),
      Map.entry(412, "Precondition Failed"), Map.entry(413, "Request Entity Too Large"),
      Map.entry(414, "Request-URI Too Large"), Map.entry(415, "Unsupported Media Type"),
      Map.entry(416, "Requested Range Not Satisfiable"), Map.entry(421, "Misdirected Request"),
      Map.entry(429, "Too Many Requests"), Map.entry(500, "Internal Server Error"), Map.entry(501, "Not Implemented"),
      Map.entry(502, "Bad Gateway"), Map.entry(503, "Service Temporarily Unavailable"),
      Map.entry(504, "Gateway Time-out"), Map.entry(505, "HTTP Version Not Supported"),
      Map.entry(507, "Insufficient Storage"));

  /** The registered reason phrases (RFC 9110 and friends), as an application or HTTP.sys writes them. */
  private static final Map<Integer, String> STANDARD_REASONS = Map.ofEntries(Map.entry(200, "OK"),
      Map.entry(201, "Created"), Map.entry(202, "Accepted"), Map.entry(203, "Non-Authoritative Information"),
      Map.entry(204, "No Content"), Map.entry(205, "Reset Content"), Map.entry(206, "Partial Content"),
      Map.entry(300, "Multiple Choices"), Map.entry(301, "Moved Permanently"), Map.entry(302, "Found"),
      Map.entry(303, "See Other"), Map.entry(304, "Not Modified"), Map.entry(307, "Temporary Redirect"),
      Map.entry(308, "Permanent Redirect"), Map.entry(400, "Bad Request"), Map.entry(401, "Unauthorized"),
      Map.entry(402, "Payment Required"), Map.entry(403, "Forbidden"), Map.entry(404, "Not Found"),
      Map.entry(405, "Method Not Allowed"), Map.entry(406, "Not Acceptable"), Map.entry(408, "Request Timeout"),
      Map.entry(409, "Conflict"), Map.entry(410, "Gone"), Map.entry(411, "Length Required"),
      Map.entry(412, "Precondition Failed"), Map.entry(413, "Request Entity Too Large"),
      Map.entry(414, "Request-URI Too Long"), Map.entry(415, "Unsupported Media Type"),
      Map.entry(416, "Requested Range Not Satisfiable"), Map.entry(417, "Expectation Failed"),
      Map.entry(422, "Unprocessable Entity"), Map.entry(423, "Locked"), Map.entry(424, "Failed Dependency"),
      Map.entry(426, "Upgrade Required"), Map.entry(428, "Precondition Required"), Map.entry(429, "Too Many Requests"),
      Map.entry(431, "Request Header Fields Too Large"), Map.entry(451, "Unavailable For Legal Reasons"),
      Map.entry(500, "Internal Server Error"), Map.entry(501, "Not Implemented"), Map.entry(502, "Bad Gateway"),
      Map.entry(503, "Service Unavailable"), Map.entry(504, "Gateway Timeout"),
      Map.entry(505, "HTTP Version Not Supported"), Map.entry(507, "Insufficient Storage"),
      Map.entry(511, "Network Authentication Required"));

  /** IIS's stock error files: title (also the h2) and the explanation under it. */
  private static final Map<Integer, String[]> IIS_PAGES = Map.of(
      403, new String[] {"403 - Forbidden: Access is denied.",
          "You do not have permission to view this directory or page using the credentials that you supplied."},
      404, new String[] {"404 - File or directory not found.",
          "The resource you are looking for might have been removed, had its name changed, or is temporarily "
              + "unavailable."},
      405, new String[] {"405 - HTTP verb used to access this page is not allowed.",
          "The page you are looking for cannot be displayed because an invalid method (HTTP verb) was used to "
              + "attempt access."},
      500, new String[] {"500 - Internal server error.",
          "There is a problem with the resource you are looking for, and it cannot be displayed."});

  private Pages() {}

  /** The errors HTTP.sys answers itself: its status, page title, heading and sentence. */
  public enum HttpSysError {
    BAD_REQUEST(400, "Bad Request", "Bad Request", "HTTP Error 400. The request is badly formed."),
    INVALID_HOSTNAME(400, "Bad Request", "Bad Request - Invalid Hostname",
        "HTTP Error 400. The request hostname is invalid."),
    INVALID_URL(400, "Bad Request", "Bad Request - Invalid URL", "HTTP Error 400. The request URL is invalid."),
    INVALID_HEADER(400, "Bad Request", "Bad Request - Invalid Header",
        "HTTP Error 400. The request has an invalid header name."),
    HEADER_FIELD_TOO_LONG(400, "Bad Request", "Bad Request - Header Field Too Long",
        "HTTP Error 400. A request header field is too long."),
    REQUEST_TOO_LONG(400, "Bad Request", "Bad Request - Request Too Long",
        "HTTP Error 400. The size of the request headers is too long."),
    URL_TOO_LONG(414, "Request URL Too Long", "Request URL Too Long", "HTTP Error 414. The request URL is too long.");

    final int status;
    final String title;
    final String heading;
    final String sentence;

    HttpSysError(int status, String title, String heading, String sentence) {
      this.status = status;
      this.title = title;
      this.heading = heading;
      this.sentence = sentence;
    }

    public int status() {
      return status;
    }

    /** HTTP.sys's page, served as {@code text/html; charset=us-ascii}. */
    public String page() {
      return "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n"
          + "<HTML><HEAD><TITLE>" + title + "</TITLE>\r\n"
          + "<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n"
          + "<BODY><h2>" + heading + "</h2>\r\n"
          + "<hr><p>" + sentence + "</p>\r\n"
          + "</BODY></HTML>\r\n";
    }
  }

  /** The reason phrase nginx writes for a status it answers itself, or "" for one it has none for. */
  public static String nginxReason(int status) {
    return NGINX_REASONS.getOrDefault(status, "");
  }

  /** The registered reason phrase, as an application behind nginx or IIS writes it, or "". */
  public static String standardReason(int status) {
    return STANDARD_REASONS.getOrDefault(status, "");
  }

  /** nginx's built-in error page for {@code status}. */
  public static String nginxPage(int status) {
    String title = status + " " + nginxReason(status);
    return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title
        + "</h1></center>\r\n<hr><center>" + NGINX + "</center>\r\n</body>\r\n</html>\r\n";
  }

  /** nginx's page for a request line or header that fills its buffers (its internal status 494). */
  public static String nginxHeaderTooLargePage() {
    return "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n"
        + "<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n"
        + "<hr><center>" + NGINX + "</center>\r\n</body>\r\n</html>\r\n";
  }

  /** IIS's stock error page for {@code status}: 403, 404, 405 or 500 (any other answers as 500). */
  public static String iisPage(int status) {
    String[] p = IIS_PAGES.getOrDefault(status, IIS_PAGES.get(500));
    return ("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
        + "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
        + "<html xmlns=\"http://www.w3.org/1999/xhtml\">\n"
        + "<head>\n"
        + "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\n"
        + "<title>" + p[0] + "</title>\n"
        + "<style type=\"text/css\">\n"
        + "<!--\n"
        + "body{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\n"
        + "fieldset{padding:0 15px 10px 15px;} \n"
        + "h1{font-size:2.4em;margin:0;color:#FFF;}\n"
        + "h2{font-size:1.7em;margin:0;color:#CC0000;} \n"
        + "h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;} \n"
        + "#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:\"trebuchet MS\", Verdana, sans-serif;"
        + "color:#FFF;\n"
        + "background-color:#555555;}\n"
        + "#content{margin:0 0 0 2%;position:relative;}\n"
        + ".content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}\n"
        + "-->\n"
        + "</style>\n"
        + "</head>\n"
        + "<body>\n"
        + "<div id=\"header\"><h1>Server Error</h1></div>\n"
        + "<div id=\"content\">\n"
        + " <div class=\"content-container\"><fieldset>\n"
        + "  <h2>" + p[0] + "</h2>\n"
        + "  <h3>" + p[1] + "</h3>\n"
        + " </fieldset></div>\n"
        + "</div>\n"
        + "</body>\n"
        + "</html>\n").replace("\n", "\r\n");
  }

  /** The error body a JSON API answers with itself. */
  public static String jsonPage(int status) {
    return "{\"error\":{\"code\":" + status + ",\"message\":\"" + standardReason(status) + "\"}}\n";
  }

  /** A value made safe to place in a body of the family: JSON-escaped or HTML-escaped. */
  static String escape(TemplateFamily family, String value) {
    StringBuilder out = new StringBuilder(value.length() + 8);
    boolean json = family == TemplateFamily.TEMPLATE_FAMILY_JSON_API;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (json) {
        switch (c) {
          case '"' -> out.append("\\\"");
          case '\\' -> out.append("\\\\");
          case '<' -> out.append("\\u003c");
          case '>' -> out.append("\\u003e");
          default -> {
            if (c < 0x20) {
              out.append(String.format("\\u%04x", (int) c));
            } else {
              out.append(c);
            }
          }
        }
      } else {
        switch (c) {
          case '<' -> out.append("&lt;");
          case '>' -> out.append("&gt;");
          case '&' -> out.append("&amp;");
          case '"' -> out.append("&quot;");
          case '\'' -> out.append("&#39;");
          default -> out.append(c);
        }
      }
    }
    return out.toString();
  }
}
