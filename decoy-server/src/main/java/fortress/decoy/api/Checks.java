package fortress.decoy.api;

import fortress.core.rpc.Rejection;
import fortress.decoy.Reason;
import java.util.regex.Pattern;

/** Input validation: each check throws INVALID_ARGUMENT naming the first bad field. */
final class Checks {
  static final int ENTITY_KEY_LENGTH_MAX = 256;
  static final int BATCH_SIZE_MAX = 10_000;
  static final int BATCH_SIZE_DEFAULT = 1_000;
  static final int CORPUS_BYTES_MAX = 1024 * 1024;
  static final long FIDELITY_SAMPLE_MIN = 1_000;
  static final long FIDELITY_SAMPLE_MAX = 1_000_000;
  static final long FIDELITY_SAMPLE_DEFAULT = 100_000;
  static final long EXPORT_MAX = 1_000_000;
  static final long EXPORT_DEFAULT = 100_000;
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private Checks() {}

  static void requestId(String value) {
    if (!REQUEST_ID.matcher(value).matches()) {
      throw Reason.invalid("request_id", "must be 1-128 of [A-Za-z0-9._:-]");
    }
  }

  static void name(String field, String value) {
    if (!NAME.matcher(value).matches()) {
      throw Reason.invalid(field, "must be 1-64 of [a-z0-9._-], starting with a letter or digit");
    }
  }

  static int pageSize(int asked, int byDefault, int max) {
    if (asked < 0 || asked > max) {
      throw Reason.invalid("page_size", "must be 0-" + max);
    }
    return asked == 0 ? byDefault : asked;
  }

  /** A number in [min, max], with 0 meaning {@code byDefault}. */
  static long range(String field, long asked, long min, long max, long byDefault) {
    if (asked == 0) {
      return byDefault;
    }
    if (asked < min || asked > max) {
      throw Reason.invalid(field, "must be " + min + "-" + max + " (or 0 for " + byDefault + ")");
    }
    return asked;
  }
}
