package fortress.shadow.eval;

import fortress.shadow.v1.BetaPrior;
import fortress.shadow.v1.Metric;
import fortress.shadow.v1.MetricComparison;
import fortress.shadow.v1.Posterior;

/**
 * One rate, champion against challenger, as Beta-Binomial posteriors: the prior plus the events
 * and non-events counted. {@code higherIsBetter} says which way "better" points.
 */
public final class Comparison {
  private Comparison() {}

  public static MetricComparison of(Metric metric, BetaPrior prior, long championEvents, long championTrials,
      long challengerEvents, long challengerTrials, boolean higherIsBetter) {
    Beta champion = posterior(prior, championEvents, championTrials);
    Beta challenger = posterior(prior, challengerEvents, challengerTrials);
    Beta better = higherIsBetter ? challenger : champion;
    Beta worse = higherIsBetter ? champion : challenger;
    return MetricComparison.newBuilder()
        .setMetric(metric)
        .setChampion(describe(champion))
        .setChallenger(describe(challenger))
        .setProbabilityChallengerBetter(Beta.probabilityGreater(better, worse))
        .setMethod(Beta.exact(better, worse) ? "exact" : "normal")
        .setExpectedLossChallenger(Beta.expectedExcess(worse, better))
        .setExpectedLossChampion(Beta.expectedExcess(better, worse))
        .build();
  }

  static Beta posterior(BetaPrior prior, long events, long trials) {
    return new Beta(prior.getAlpha() + (double) events, prior.getBeta() + (double) (trials - events));
  }

  private static Posterior describe(Beta b) {
    return Posterior.newBuilder()
        .setAlpha(b.alpha())
        .setBeta(b.beta())
        .setMean(b.mean())
        .setLower(b.quantile(0.025))
        .setUpper(b.quantile(0.975))
        .build();
  }
}
