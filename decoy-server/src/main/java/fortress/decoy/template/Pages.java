package fortress.decoy.template;

import fortress.decoy.v1.TemplateFamily;
import java.util.Map;

/**
 * What each template family looks like when it answers on its own: its Server header and its
 * error pages, copied from the real servers' defaults so a decoy cannot be told apart by its
 * errors. Nothing here names Java, Netty or Fortress.
 */
public final class Pages {
  private static final Map<Integer, String> REASONS = Map.of(400, "Bad Request", 404, "Not Found", 405,
      "Not Allowed", 413, "Request Entity Too Large", 414, "Request-URI Too Large", 429, "Too Many Requests", 431,
      "Request Header Fields Too Large", 500, "Internal Server Error", 503, "Service Temporarily Unavailable");

  private Pages() {}

  /** An error response's content type and body. */
  public record Page(String contentType, String body) {}

  public static String server(TemplateFamily family) {
    return family == TemplateFamily.TEMPLATE_FAMILY_IIS ? "Microsoft-IIS/10.0" : "nginx";
  }

  public static String reason(int status) {
    return REASONS.getOrDefault(status, "Error");
  }

  public static Page error(TemplateFamily family, int status) {
    String reason = reason(status);
    return switch (family) {
      case TEMPLATE_FAMILY_JSON_API -> new Page("application/json",
          "{\"error\":{\"code\":" + status + ",\"message\":\"" + reason + "\"}}\n");
      case TEMPLATE_FAMILY_IIS -> new Page("text/html", """
          <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
          <html xmlns="http://www.w3.org/1999/xhtml">
          <head>
          <meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
          <title>%d - %s</title>
          </head>
          <body>
          <div id="header"><h1>Server Error</h1></div>
          <div id="content">
           <div class="content-container"><fieldset>
            <h2>%d - %s</h2>
           </fieldset></div>
          </div>
          </body>
          </html>
          """.formatted(status, reason, status, reason));
      default -> new Page("text/html", "<html>\r\n<head><title>" + status + " " + reason
          + "</title></head>\r\n<body>\r\n<center><h1>" + status + " " + reason
          + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
    };
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
