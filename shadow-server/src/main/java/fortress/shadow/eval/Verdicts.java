package fortress.shadow.eval;

import fortress.shadow.v1.BetaPrior;
import fortress.shadow.v1.ConfusionMatrix;
import fortress.shadow.v1.EvaluationResult;
import fortress.shadow.v1.Metric;
import fortress.shadow.v1.MetricComparison;
import fortress.shadow.v1.Verdict;
import fortress.shadow.v1.VerdictSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The verdict procedure. In order:
 * <ol>
 *   <li>Too few MALICIOUS or BENIGN samples: INCONCLUSIVE (no data is never a pass).
 *   <li>The challenger is worse on either metric with probability at least the threshold: FAIL.
 *   <li>It is better on the primary metric with probability at least the threshold, and the
 *       expected loss of choosing it on the guardrail metric is within the tolerance: PASS.
 *   <li>Otherwise INCONCLUSIVE, saying which condition is not met yet.
 * </ol>
 * One primary metric, not "better on either", keeps the false-PASS rate of two equally good rules
 * at about (1 - threshold): two routes to PASS would double it.
 */
public final class Verdicts {
  public static final double PROBABILITY_THRESHOLD_DEFAULT = 0.975;
  public static final double LOSS_TOLERANCE_DEFAULT = 0.005;
  public static final long MALICIOUS_MIN_DEFAULT = 100;
  public static final long BENIGN_MIN_DEFAULT = 100;

  private Verdicts() {}

  /** The settings with every zero field replaced by its default. */
  public static VerdictSettings withDefaults(VerdictSettings s) {
    return s.toBuilder()
        .setPrimaryMetric(s.getPrimaryMetric() == Metric.METRIC_UNSPECIFIED ? Metric.METRIC_RECALL : s.getPrimaryMetric())
        .setProbabilityThreshold(s.getProbabilityThreshold() == 0 ? PROBABILITY_THRESHOLD_DEFAULT
            : s.getProbabilityThreshold())
        .setLossTolerance(s.getLossTolerance() == 0 ? LOSS_TOLERANCE_DEFAULT : s.getLossTolerance())
        .setMaliciousMin(s.getMaliciousMin() == 0 ? MALICIOUS_MIN_DEFAULT : s.getMaliciousMin())
        .setBenignMin(s.getBenignMin() == 0 ? BENIGN_MIN_DEFAULT : s.getBenignMin())
        .build();
  }

  /** Compares the two matrices and reaches a verdict; settings must already carry their defaults. */
  public static EvaluationResult judge(ConfusionMatrix champion, ConfusionMatrix challenger, BetaPrior prior,
      VerdictSettings settings) {
    MetricComparison recall = Comparison.of(Metric.METRIC_RECALL, prior,
        champion.getTruePositives(), champion.getTruePositives() + champion.getFalseNegatives(),
        challenger.getTruePositives(), challenger.getTruePositives() + challenger.getFalseNegatives(), true);
    MetricComparison fpr = Comparison.of(Metric.METRIC_FALSE_POSITIVE_RATE, prior,
        champion.getFalsePositives(), champion.getFalsePositives() + champion.getTrueNegatives(),
        challenger.getFalsePositives(), challenger.getFalsePositives() + challenger.getTrueNegatives(), false);
    List<String> reasons = new ArrayList<>();
    Verdict verdict = decide(champion, recall, fpr, settings, reasons);
    return EvaluationResult.newBuilder()
        .setVerdict(verdict)
        .addAllReasons(reasons)
        .setChampionMatrix(champion)
        .setChallengerMatrix(challenger)
        .setRecall(recall)
        .setFalsePositiveRate(fpr)
        .build();
  }

  private static Verdict decide(ConfusionMatrix counts, MetricComparison recall, MetricComparison fpr,
      VerdictSettings s, List<String> reasons) {
    long malicious = counts.getTruePositives() + counts.getFalseNegatives();
    long benign = counts.getFalsePositives() + counts.getTrueNegatives();
    if (malicious < s.getMaliciousMin()) {
      reasons.add(String.format(Locale.ROOT, "only %d MALICIOUS samples; at least %d are needed", malicious,
          s.getMaliciousMin()));
    }
    if (benign < s.getBenignMin()) {
      reasons.add(String.format(Locale.ROOT, "only %d BENIGN samples; at least %d are needed", benign,
          s.getBenignMin()));
    }
    if (!reasons.isEmpty()) {
      return Verdict.VERDICT_INCONCLUSIVE;
    }
    double threshold = s.getProbabilityThreshold();
    for (MetricComparison m : List.of(recall, fpr)) {
      if (1 - m.getProbabilityChallengerBetter() >= threshold) {
        reasons.add(String.format(Locale.ROOT, "the challenger's %s is worse: P(worse) = %.4f >= %.4f (%s)",
            name(m), 1 - m.getProbabilityChallengerBetter(), threshold, means(m)));
      }
    }
    if (!reasons.isEmpty()) {
      return Verdict.VERDICT_FAIL;
    }
    boolean recallPrimary = s.getPrimaryMetric() == Metric.METRIC_RECALL;
    MetricComparison primary = recallPrimary ? recall : fpr;
    MetricComparison guardrail = recallPrimary ? fpr : recall;
    boolean better = primary.getProbabilityChallengerBetter() >= threshold;
    boolean safe = guardrail.getExpectedLossChallenger() <= s.getLossTolerance();
    reasons.add(String.format(Locale.ROOT, "%s: P(challenger better) = %.4f, %s the threshold %.4f (%s)",
        name(primary), primary.getProbabilityChallengerBetter(), better ? "at least" : "below", threshold,
        means(primary)));
    reasons.add(String.format(Locale.ROOT, "%s guardrail: expected loss of choosing the challenger = %.5f, %s "
        + "the tolerance %.5f (%s)", name(guardrail), guardrail.getExpectedLossChallenger(),
        safe ? "within" : "above", s.getLossTolerance(), means(guardrail)));
    return better && safe ? Verdict.VERDICT_PASS : Verdict.VERDICT_INCONCLUSIVE;
  }

  private static String name(MetricComparison m) {
    return m.getMetric() == Metric.METRIC_RECALL ? "recall" : "false-positive rate";
  }

  private static String means(MetricComparison m) {
    return String.format(Locale.ROOT, "champion %.4f [%.4f, %.4f], challenger %.4f [%.4f, %.4f]",
        m.getChampion().getMean(), m.getChampion().getLower(), m.getChampion().getUpper(),
        m.getChallenger().getMean(), m.getChallenger().getLower(), m.getChallenger().getUpper());
  }
}
