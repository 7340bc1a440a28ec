package fortress.core.rpc;

import com.google.protobuf.ProtocolMessageEnum;
import java.util.regex.Pattern;

/**
 * The field rules every Fortress API shares (AIP-155 request ids, resource names, page sizes).
 * Each check throws {@code invalid} (the server's INVALID_FIELD reason) naming the field.
 */
public final class Fields {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private Fields() {}

  public static void requestId(String value, ProtocolMessageEnum invalid) {
    if (!REQUEST_ID.matcher(value).matches()) {
      throw Rejection.invalid(invalid, "request_id", "must be 1-128 of [A-Za-z0-9._:-]");
    }
  }

  /** An identifier: 1-64 of [a-z0-9._-], starting with a letter or digit. */
  public static void name(String field, String value, ProtocolMessageEnum invalid) {
    if (!NAME.matcher(value).matches()) {
      throw Rejection.invalid(invalid, field, "must be 1-64 of [a-z0-9._-], starting with a letter or digit");
    }
  }

  /**
   * Free text of at most {@code max} characters that PostgreSQL can store: no NUL (U+0000), which
   * a text column refuses.
   */
  public static void text(String field, String value, int max, ProtocolMessageEnum invalid) {
    if (value.length() > max) {
      throw Rejection.invalid(invalid, field, "must be at most " + max + " characters");
    }
    if (value.indexOf('\u0000') >= 0) {
      throw Rejection.invalid(invalid, field, "must not contain the NUL character (U+0000)");
    }
  }

  /** The page size to use: {@code requested}, or the default for 0; more than {@code max} is refused. */
  public static int pageSize(int requested, int pageSizeDefault, int pageSizeMax, ProtocolMessageEnum invalid) {
    if (requested < 0 || requested > pageSizeMax) {
      throw Rejection.invalid(invalid, "page_size", "must be 0-" + pageSizeMax + " (0 means " + pageSizeDefault
          + ")");
    }
    return requested == 0 ? pageSizeDefault : requested;
  }
}
