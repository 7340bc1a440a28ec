package fortress.decoy.api;

import fortress.core.rpc.Fields;
import fortress.core.rpc.Rejection;
import fortress.decoy.v1.ErrorReason;

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

  private Checks() {}

  static void requestId(String value) {
    Fields.requestId(value, ErrorReason.INVALID_FIELD);
  }

  static void name(String field, String value) {
    Fields.name(field, value, ErrorReason.INVALID_FIELD);
  }

  static int pageSize(int requested, int pageSizeDefault, int pageSizeMax) {
    return Fields.pageSize(requested, pageSizeDefault, pageSizeMax, ErrorReason.INVALID_FIELD);
  }

  /** A number in [min, max], with 0 meaning {@code byDefault}. */
  static long range(String field, long asked, long min, long max, long byDefault) {
    if (asked == 0) {
      return byDefault;
    }
    if (asked < min || asked > max) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field, "must be " + min + "-" + max + " (or 0 for " + byDefault + ")");
    }
    return asked;
  }
}
