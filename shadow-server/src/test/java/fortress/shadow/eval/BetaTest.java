package fortress.shadow.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class BetaTest {
  /** P(X > Y) by integrating f_X(x) F_Y(x) numerically: an independent check of the closed form. */
  private static double integrated(Beta x, Beta y) {
    int steps = 200_000;
    double sum = 0;
    for (int i = 0; i < steps; i++) {
      double t = (i + 0.5) / steps;
      double density = Math.exp((x.alpha() - 1) * Math.log(t) + (x.beta() - 1) * Math.log1p(-t)
          - Beta.logBeta(x.alpha(), x.beta()));
      sum += density * y.cdf(t) / steps;
    }
    return sum;
  }

  @Test
  void probabilityGreater_matchesNumericalIntegration_whicheverSumIsShortest() {
    Beta[][] pairs = {
        {new Beta(3, 9), new Beta(5, 4)},
        {new Beta(40, 12), new Beta(35, 20)},
        {new Beta(2, 60), new Beta(9, 3)},
        {new Beta(120, 880), new Beta(100, 900)},
    };
    for (Beta[] p : pairs) {
      assertThat(Beta.probabilityGreater(p[0], p[1])).as("%s > %s", p[0], p[1])
          .isCloseTo(integrated(p[0], p[1]), within(1e-6));
      assertThat(Beta.probabilityGreater(p[0], p[1]) + Beta.probabilityGreater(p[1], p[0])).isCloseTo(1, within(1e-9));
    }
  }

  @Test
  void probabilityGreater_ofEqualPosteriors_isOneHalf() {
    assertThat(Beta.probabilityGreater(new Beta(30, 70), new Beta(30, 70))).isCloseTo(0.5, within(1e-9));
  }

  @Test
  void probabilityGreater_atLargeCounts_usesTheNormalApproximation_andAgreesWithTheExactSum() {
    Beta x = new Beta(200_001, 800_001);
    Beta y = new Beta(199_001, 801_001);
    assertThat(Beta.exact(x, y)).isFalse();
    Beta xs = new Beta(20_001, 80_001);
    Beta ys = new Beta(19_801, 80_201);
    assertThat(Beta.exact(xs, ys)).isTrue();
    double exact = Beta.probabilityGreater(xs, ys);
    double sd = Math.sqrt(xs.variance() + ys.variance());
    assertThat(Normal.cdf((xs.mean() - ys.mean()) / sd)).isCloseTo(exact, within(2e-3));
    // Means 0.2 and 0.199 with a difference's standard deviation of 0.000566: z = 1.77.
    assertThat(Beta.probabilityGreater(x, y)).isCloseTo(0.9616, within(1e-3));
  }

  @Test
  void expectedExcess_ofTwoUniforms_isOneSixth() {
    assertThat(Beta.expectedExcess(new Beta(1, 1), new Beta(1, 1))).isCloseTo(1.0 / 6, within(1e-9));
  }

  @Test
  void quantiles_bracketTheMean_andInvertTheCdf() {
    Beta b = new Beta(81, 21);
    double lower = b.quantile(0.025);
    double upper = b.quantile(0.975);
    assertThat(lower).isLessThan(b.mean()).isGreaterThan(0.7);
    assertThat(upper).isGreaterThan(b.mean()).isLessThan(0.9);
    assertThat(b.cdf(lower)).isCloseTo(0.025, within(1e-9));
    assertThat(new Beta(1, 1).quantile(0.3)).isCloseTo(0.3, within(1e-12));
  }

  @Test
  void chiSquareTail_matchesKnownCriticalValues() {
    assertThat(Normal.chiSquareOneTail(3.841)).isCloseTo(0.05, within(1e-4));
    assertThat(Normal.chiSquareOneTail(10.828)).isCloseTo(0.001, within(1e-5));
  }
}
