package fortress.shadow.rollout;

import fortress.shadow.eval.Comparison;
import fortress.shadow.eval.Normal;
import fortress.shadow.v1.ArmStats;
import fortress.shadow.v1.BetaPrior;
import fortress.shadow.v1.Metric;
import fortress.shadow.v1.MetricComparison;
import fortress.shadow.v1.RolloutThresholds;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Judges one rollout stage from the two arms' numbers, each tenant's outcomes already weighed to
 * its share ({@link TenantEvidence} also checks that no one tenant decides the step). In order:
 * <ol>
 *   <li>Sample-ratio mismatch: the split of decisions differs from the stage's percentage by a
 *       chi-square test with p below 10^-6. The numbers cannot be trusted: PAUSE. The bound is strict
 *       because the test is made again at every check on a growing sample, so a looser one would
 *       pause a sound split by chance now and then; a broken split is off by far more.
 *   <li>Too few outcomes on either arm: WAIT.
 *   <li>An absolute threshold crossed by the challenger (error rate, false-positive rate, mean
 *       latency): ROLLBACK.
 *   <li>The last stage (100%): nothing left to compare with, so PROMOTE.
 *   <li>Against the champion over the same period: P(challenger worse) on recall, false-positive
 *       rate or error rate at least the limit while the observed rate is worse too, or mean
 *       latency worse by more than the allowed fraction: ROLLBACK.
 *   <li>The expected loss of choosing the challenger within the tolerance on all three rates:
 *       ADVANCE. Otherwise WAIT, or PAUSE once the challenger has the most outcomes a stage may
 *       take: inconclusive.
 * </ol>
 * Rates use Beta(1, 1) priors, so an arm with no labelled outcomes cannot look safe.
 */
public final class StageJudge {
  public static final double SAMPLE_RATIO_P_MIN = 1e-6;
  /** Below this many expected decisions on the smaller arm the chi-square test is not made. */
  static final double SAMPLE_RATIO_EXPECTED_MIN = 10;
  private static final BetaPrior UNIFORM = BetaPrior.newBuilder().setAlpha(1).setBeta(1).build();

  public static final long STAGE_OUTCOMES_MIN_DEFAULT = 100;
  public static final long STAGE_OUTCOMES_MAX_DEFAULT = 10_000;
  public static final double ERROR_RATE_MAX_DEFAULT = 0.05;
  public static final double FALSE_POSITIVE_RATE_MAX_DEFAULT = 0.05;
  public static final double PROBABILITY_WORSE_MAX_DEFAULT = 0.95;
  public static final double LATENCY_REGRESSION_MAX_DEFAULT = 0.5;
  public static final double LOSS_TOLERANCE_DEFAULT = 0.02;

  private StageJudge() {}

  /** What to do with the stage. */
  public enum Step { WAIT, ADVANCE, PROMOTE, PAUSE, ROLLBACK }

  /** A step, its reasons, and the sample-ratio p-value it saw. */
  public record Judgement(Step step, List<String> reasons, double sampleRatioP) {}

  /** {@code tenantShareMaxDefault}: the server's --rollout-tenant-share-max. */
  public static RolloutThresholds withDefaults(RolloutThresholds t, double tenantShareMaxDefault) {
    return t.toBuilder()
        .setStageOutcomesMin(t.getStageOutcomesMin() == 0 ? STAGE_OUTCOMES_MIN_DEFAULT : t.getStageOutcomesMin())
        .setStageOutcomesMax(t.getStageOutcomesMax() == 0
            ? Math.max(STAGE_OUTCOMES_MAX_DEFAULT, t.getStageOutcomesMin()) : t.getStageOutcomesMax())
        .setErrorRateMax(t.getErrorRateMax() == 0 ? ERROR_RATE_MAX_DEFAULT : t.getErrorRateMax())
        .setFalsePositiveRateMax(t.getFalsePositiveRateMax() == 0 ? FALSE_POSITIVE_RATE_MAX_DEFAULT
            : t.getFalsePositiveRateMax())
        .setProbabilityWorseMax(t.getProbabilityWorseMax() == 0 ? PROBABILITY_WORSE_MAX_DEFAULT
            : t.getProbabilityWorseMax())
        .setLatencyRegressionMax(t.getLatencyRegressionMax() == 0 ? LATENCY_REGRESSION_MAX_DEFAULT
            : t.getLatencyRegressionMax())
        .setLossTolerance(t.getLossTolerance() == 0 ? LOSS_TOLERANCE_DEFAULT : t.getLossTolerance())
        .setTenantShareMax(t.getTenantShareMax() == 0 ? tenantShareMaxDefault : t.getTenantShareMax())
        .build();
  }

  /** The p-value of the chi-square test that the decisions split as {@code percent} says; 1 if untestable. */
  public static double sampleRatioP(long champion, long challenger, int percent) {
    double n = champion + challenger;
    double expectedChallenger = n * percent / 100.0;
    double expectedChampion = n - expectedChallenger;
    if (percent <= 0 || percent >= 100 || Math.min(expectedChallenger, expectedChampion) < SAMPLE_RATIO_EXPECTED_MIN) {
      return 1;
    }
    double chi = square(challenger - expectedChallenger) / expectedChallenger
        + square(champion - expectedChampion) / expectedChampion;
    return Normal.chiSquareOneTail(chi);
  }

  public static Judgement judge(ArmStats champion, ArmStats challenger, int percent, RolloutThresholds t) {
    List<String> reasons = new ArrayList<>();
    double p = sampleRatioP(champion.getDecisions(), challenger.getDecisions(), percent);
    if (p < SAMPLE_RATIO_P_MIN) {
      reasons.add(String.format(Locale.ROOT, "sample ratio mismatch: the challenger got %d of %d decisions where "
          + "%d%% were expected (chi-square p = %.2g < %.0e); the split is unsound, so nothing it measured counts",
          challenger.getDecisions(), champion.getDecisions() + challenger.getDecisions(), percent, p,
          SAMPLE_RATIO_P_MIN));
      return new Judgement(Step.PAUSE, reasons, p);
    }
    boolean last = percent == 100;
    long min = t.getStageOutcomesMin();
    if (challenger.getOutcomes() < min || (!last && champion.getOutcomes() < min)) {
      reasons.add(String.format(Locale.ROOT, "collecting outcomes: challenger %d counted (%d reported by %d "
          + "tenants), champion %d counted (%d reported by %d tenants); each arm needs %d counted, and one tenant's "
          + "outcomes count for at most its share of an arm", challenger.getOutcomes(),
          challenger.getOutcomesReported(), challenger.getTenants(), champion.getOutcomes(),
          champion.getOutcomesReported(), champion.getTenants(), min));
      return new Judgement(Step.WAIT, reasons, p);
    }
    absolute(challenger, t, reasons);
    if (!reasons.isEmpty()) {
      return new Judgement(Step.ROLLBACK, reasons, p);
    }
    if (last) {
      reasons.add(String.format(Locale.ROOT, "the last stage stayed within every absolute threshold over %d outcomes",
          challenger.getOutcomes()));
      return new Judgement(Step.PROMOTE, reasons, p);
    }
    List<MetricComparison> rates = List.of(
        Comparison.of(Metric.METRIC_RECALL, UNIFORM, champion.getMaliciousFlagged(), champion.getMalicious(),
            challenger.getMaliciousFlagged(), challenger.getMalicious(), true),
        Comparison.of(Metric.METRIC_FALSE_POSITIVE_RATE, UNIFORM, champion.getBenignFlagged(), champion.getBenign(),
            challenger.getBenignFlagged(), challenger.getBenign(), false),
        Comparison.of(Metric.METRIC_UNSPECIFIED, UNIFORM, champion.getErrors(), champion.getOutcomes(),
            challenger.getErrors(), challenger.getOutcomes(), false));
    relative(champion, challenger, rates, t, reasons);
    if (!reasons.isEmpty()) {
      return new Judgement(Step.ROLLBACK, reasons, p);
    }
    for (MetricComparison m : rates) {
      if (m.getExpectedLossChallenger() > t.getLossTolerance()) {
        reasons.add(String.format(Locale.ROOT, "%s not yet settled: expected loss of the challenger %.4f > %.4f",
            name(m), m.getExpectedLossChallenger(), t.getLossTolerance()));
      }
    }
    if (reasons.isEmpty()) {
      reasons.add(String.format(Locale.ROOT, "no worse than the champion on recall, false-positive rate and errors "
          + "over %d + %d outcomes (every expected loss within %.4f)", champion.getOutcomes(),
          challenger.getOutcomes(), t.getLossTolerance()));
      return new Judgement(Step.ADVANCE, reasons, p);
    }
    if (challenger.getOutcomes() >= t.getStageOutcomesMax()) {
      reasons.add(0, String.format(Locale.ROOT, "inconclusive after %d challenger outcomes", challenger.getOutcomes()));
      return new Judgement(Step.PAUSE, reasons, p);
    }
    return new Judgement(Step.WAIT, reasons, p);
  }

  private static void absolute(ArmStats x, RolloutThresholds t, List<String> reasons) {
    double errorRate = (double) x.getErrors() / x.getOutcomes();
    if (errorRate > t.getErrorRateMax()) {
      reasons.add(String.format(Locale.ROOT, "challenger error rate %.4f exceeds %.4f", errorRate, t.getErrorRateMax()));
    }
    if (x.getBenign() > 0) {
      double fpr = (double) x.getBenignFlagged() / x.getBenign();
      if (fpr > t.getFalsePositiveRateMax()) {
        reasons.add(String.format(Locale.ROOT, "challenger false-positive rate %.4f exceeds %.4f", fpr,
            t.getFalsePositiveRateMax()));
      }
    }
    if (t.getLatencyMsMax() > 0 && x.getLatencyMsMean() > t.getLatencyMsMax()) {
      reasons.add(String.format(Locale.ROOT, "challenger mean latency %.1f ms exceeds %d ms", x.getLatencyMsMean(),
          t.getLatencyMsMax()));
    }
  }

  private static void relative(ArmStats a, ArmStats x, List<MetricComparison> rates, RolloutThresholds t,
      List<String> reasons) {
    double[] observedWorse = {
        rate(a.getMaliciousFlagged(), a.getMalicious()) - rate(x.getMaliciousFlagged(), x.getMalicious()),
        rate(x.getBenignFlagged(), x.getBenign()) - rate(a.getBenignFlagged(), a.getBenign()),
        rate(x.getErrors(), x.getOutcomes()) - rate(a.getErrors(), a.getOutcomes())};
    for (int i = 0; i < rates.size(); i++) {
      MetricComparison m = rates.get(i);
      double worse = 1 - m.getProbabilityChallengerBetter();
      // The observed rates must differ too: with arms of very different sizes (1% against 99%) the
      // prior alone makes the small arm's posterior look worse when neither saw a single event.
      if (worse >= t.getProbabilityWorseMax() && observedWorse[i] > 0) {
        reasons.add(String.format(Locale.ROOT, "challenger %s is worse than the champion's: P(worse) = %.4f >= %.4f "
            + "(champion %.4f, challenger %.4f)", name(m), worse, t.getProbabilityWorseMax(),
            m.getChampion().getMean(), m.getChallenger().getMean()));
      }
    }
    if (a.getLatencyMsMean() > 0 && x.getLatencyMsMean() > a.getLatencyMsMean() * (1 + t.getLatencyRegressionMax())) {
      reasons.add(String.format(Locale.ROOT, "challenger mean latency %.1f ms is more than %.0f%% above the "
          + "champion's %.1f ms", x.getLatencyMsMean(), 100 * t.getLatencyRegressionMax(), a.getLatencyMsMean()));
    }
  }

  private static double rate(long events, long trials) {
    return trials == 0 ? 0 : (double) events / trials;
  }

  private static String name(MetricComparison m) {
    return switch (m.getMetric()) {
      case METRIC_RECALL -> "recall";
      case METRIC_FALSE_POSITIVE_RATE -> "false-positive rate";
      default -> "error rate";
    };
  }

  private static double square(double x) {
    return x * x;
  }
}
