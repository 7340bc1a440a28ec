package fortress.shadow.api;

import fortress.core.rpc.Fields;
import fortress.core.rpc.Rejection;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.BetaPrior;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.RolloutThresholds;
import fortress.shadow.v1.RuleRef;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.VerdictSettings;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Input validation: each check throws INVALID_ARGUMENT naming the first bad field. */
final class Checks {
  static final int NAME_LENGTH_MAX = 64;
  static final int REQUEST_ID_LENGTH_MAX = 128;
  static final int EXPRESSION_LENGTH_MAX = 4096;
  static final int TEXT_LENGTH_MAX = 1024;
  static final int ATTRIBUTE_LENGTH_MAX = 2048;
  static final int HEADERS_MAX = 64;
  static final int REQUEST_KEY_LENGTH_MAX = 256;
  static final int STAGES_MAX = 10;
  static final int PRIOR_MAX = 1000;
  static final long LATENCY_MS_MAX = 3_600_000;
  private static final Pattern VERSION = Pattern.compile("[0-9a-f]{16}");

  private Checks() {}

  static void requestId(String value) {
    Fields.requestId(value, ErrorReason.INVALID_FIELD);
  }

  static void name(String field, String value) {
    Fields.name(field, value, ErrorReason.INVALID_FIELD);
  }

  static void version(String field, String value) {
    if (!VERSION.matcher(value).matches()) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field, "must be 16 lower-case hex digits (a rule version)");
    }
  }

  static void ruleRef(String field, RuleRef ref, boolean required) {
    if (!required && ref.getRuleId().isEmpty() && ref.getVersion().isEmpty()) {
      return;
    }
    name(field + ".rule_id", ref.getRuleId());
    version(field + ".version", ref.getVersion());
  }

  static void text(String field, String value, int max) {
    Fields.text(field, value, max, ErrorReason.INVALID_FIELD);
  }

  static void action(Action action) {
    if (action == Action.ACTION_UNSPECIFIED || action == Action.UNRECOGNIZED) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "action", "must be ACTION_ALLOW, ACTION_DENY, ACTION_DECEIVE or ACTION_CHALLENGE");
    }
  }

  static void expression(String expression) {
    if (expression.isBlank()) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "expression", "must not be empty");
    }
    text("expression", expression, EXPRESSION_LENGTH_MAX);
  }

  static void attributes(String field, RequestAttributes a) {
    // Decide runs this on every call: field names are only built for a failure.
    attribute(field, "ip", a.getIp());
    attribute(field, "method", a.getMethod());
    attribute(field, "path", a.getPath());
    attribute(field, "tenant", a.getTenant());
    attribute(field, "user_agent", a.getUserAgent());
    attribute(field, "country", a.getCountry());
    if (a.getHeadersCount() > HEADERS_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".headers", "must hold at most " + HEADERS_MAX + " headers");
    }
    for (Map.Entry<String, String> h : a.getHeadersMap().entrySet()) {
      String name = h.getKey();
      if (name.isEmpty() || name.length() > 256 || name.chars().anyMatch(Character::isUpperCase)) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".headers", "names must be 1-256 lower-case characters");
      }
      if (h.getValue().length() > ATTRIBUTE_LENGTH_MAX) {
        attribute(field, "headers[" + name + "]", h.getValue());
      }
    }
    if (a.getBytes() < 0) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".bytes", "must not be negative");
    }
    if (a.getRequestsPerMinute() < 0) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".requests_per_minute", "must not be negative");
    }
  }

  private static void attribute(String field, String name, String value) {
    if (value.length() > ATTRIBUTE_LENGTH_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + "." + name, "must be at most " + ATTRIBUTE_LENGTH_MAX + " characters");
    }
  }

  static void samples(List<Sample> samples, int max) {
    if (samples.isEmpty() || samples.size() > max) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "samples", "must hold 1-" + max + " samples");
    }
    for (int i = 0; i < samples.size(); i++) {
      Sample s = samples.get(i);
      if (s.getLabel() != Label.LABEL_MALICIOUS && s.getLabel() != Label.LABEL_BENIGN) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, "samples[" + i + "].label", "must be LABEL_MALICIOUS or LABEL_BENIGN");
      }
      attributes("samples[" + i + "].attributes", s.getAttributes());
    }
  }

  static void prior(BetaPrior p) {
    if (p.getAlpha() < 0 || p.getAlpha() > PRIOR_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "prior.alpha", "must be 1-" + PRIOR_MAX + " (0 means 1)");
    }
    if (p.getBeta() < 0 || p.getBeta() > PRIOR_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "prior.beta", "must be 1-" + PRIOR_MAX + " (0 means 1)");
    }
  }

  /** Checks settings that already carry their defaults. */
  static void settings(VerdictSettings s) {
    if (s.getPrimaryMetricValue() < 0 || s.getPrimaryMetricValue() > 2) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "settings.primary_metric", "must be METRIC_RECALL or METRIC_FALSE_POSITIVE_RATE");
    }
    range("settings.probability_threshold", s.getProbabilityThreshold(), 0.5, 0.9999);
    range("settings.loss_tolerance", s.getLossTolerance(), 0.0001, 0.5);
    range("settings.malicious_min", s.getMaliciousMin(), 1, 1e9);
    range("settings.benign_min", s.getBenignMin(), 1, 1e9);
  }

  static void stages(List<Integer> stages) {
    if (stages.size() > STAGES_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "stages", "must hold at most " + STAGES_MAX + " stages");
    }
    int previous = 0;
    for (int i = 0; i < stages.size(); i++) {
      if (stages.get(i) <= previous || stages.get(i) > 100) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, "stages[" + i + "]", "stages must be strictly increasing percentages from 1 to 100");
      }
      previous = stages.get(i);
    }
    if (previous != 100) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "stages", "the last stage must be 100");
    }
  }

  /** Checks thresholds that already carry their defaults. */
  static void thresholds(RolloutThresholds t) {
    range("thresholds.stage_outcomes_min", t.getStageOutcomesMin(), 1, 1e7);
    range("thresholds.stage_outcomes_max", t.getStageOutcomesMax(), t.getStageOutcomesMin(), 1e9);
    range("thresholds.error_rate_max", t.getErrorRateMax(), 0.0001, 1);
    range("thresholds.false_positive_rate_max", t.getFalsePositiveRateMax(), 0.0001, 1);
    range("thresholds.latency_ms_max", t.getLatencyMsMax(), 0, LATENCY_MS_MAX);
    range("thresholds.probability_worse_max", t.getProbabilityWorseMax(), 0.5, 0.9999);
    range("thresholds.latency_regression_max", t.getLatencyRegressionMax(), 0.01, 100);
    range("thresholds.loss_tolerance", t.getLossTolerance(), 0.0001, 0.5);
    range("thresholds.tenant_share_max", t.getTenantShareMax(), 0.01, 1);
  }

  static void range(String field, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field, "must be from " + format(min) + " to " + format(max));
    }
  }

  private static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  static int pageSize(int requested, int pageSizeDefault, int pageSizeMax) {
    return Fields.pageSize(requested, pageSizeDefault, pageSizeMax, ErrorReason.INVALID_FIELD);
  }

  static void requestKey(String key, String ip) {
    text("request_key", key, REQUEST_KEY_LENGTH_MAX);
    if (key.isEmpty() && ip.isEmpty()) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "request_key", "must be set when attributes.ip is empty: it keys the canary split");
    }
  }

  static void latency(long latencyMs) {
    range("latency_ms", latencyMs, 0, LATENCY_MS_MAX);
  }

  static void label(Label label) {
    if (label == Label.UNRECOGNIZED) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "label", "must be LABEL_UNSPECIFIED, LABEL_MALICIOUS or LABEL_BENIGN");
    }
  }
}
