package fortress.decoy.http;

import fortress.decoy.v1.TemplateFamily;

/**
 * The server that parses requests before any page is chosen, and answers the requests it refuses:
 * nginx for the nginx and JSON API families (an API is served through nginx), HTTP.sys for IIS.
 * Their limits are their stock ones.
 */
enum Front {
  /** nginx 1.22: a 1 KiB header buffer, then up to 4 of 8 KiB; a line must fit in one of them. */
  NGINX(8192, 1024, 4, Integer.MAX_VALUE),
  /** HTTP.sys: MaxFieldLength and MaxRequestBytes, both 16 KiB by default. */
  HTTP_SYS(16384, Integer.MAX_VALUE, 0, 16384);

  /** The longest request line or header line, with its line end. */
  final int lineBytesMax;
  /** nginx's first buffer, and how many large ones (of {@link #lineBytesMax}) it may take after it. */
  final int firstBufferBytes;
  final int largeBuffersMax;
  /** The most bytes of request line and headers together. */
  final int headBytesMax;

  Front(int lineBytesMax, int firstBufferBytes, int largeBuffersMax, int headBytesMax) {
    this.lineBytesMax = lineBytesMax;
    this.firstBufferBytes = firstBufferBytes;
    this.largeBuffersMax = largeBuffersMax;
    this.headBytesMax = headBytesMax;
  }

  static Front of(TemplateFamily family) {
    return family == TemplateFamily.TEMPLATE_FAMILY_IIS ? HTTP_SYS : NGINX;
  }

  /** Whether a byte may appear in a method: nginx takes A-Z, '_' and '-'; HTTP.sys any token character. */
  boolean methodByte(int b) {
    if (this == NGINX) {
      return b >= 'A' && b <= 'Z' || b == '_' || b == '-';
    }
    return tokenByte(b);
  }

  /** Whether a header name is one the front acts on (nginx ignores others; HTTP.sys refuses them). */
  boolean validName(String name) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = this == NGINX ? c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
          : tokenByte(c);
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  static boolean tokenByte(int b) {
    return b > 0x20 && b < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(b) < 0;
  }
}
