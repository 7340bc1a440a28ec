package fortress.decoy.fidelity;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.generate.Normal;
import fortress.decoy.v1.FidelityFigure;
import fortress.decoy.v1.GetFidelityReportResponse;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FidelityTest {
  @Test
  void at100k_everyFigureIsWithinItsThreshold() {
    for (long seed : new long[] {1, 2026}) {
      GetFidelityReportResponse report = Fidelity.report(100_000, seed);
      Map<String, FidelityFigure> f = report.getFiguresList().stream()
          .collect(Collectors.toMap(FidelityFigure::getName, x -> x));
      assertThat(f.get("ks_age").getValue()).isLessThan(0.02);
      assertThat(f.get("ks_log_amount").getValue()).isLessThan(0.02);
      assertThat(f.get("fraud_rate").getValue()).isBetween(0.045, 0.055);
      assertThat(f.get("tv_category").getValue()).isLessThan(0.02);
      assertThat(f.get("tv_hour").getValue()).isLessThan(0.02);
      assertThat(f.get("log_error_rate").getValue()).isBetween(0.02, 0.05);
      assertThat(f.get("profile_consistency").getValue()).isEqualTo(1.0);
      assertThat(report.getAllWithin()).as("%s", report).isTrue();
    }
  }

  @Test
  void theMeasuresNoticeAWrongDistribution() {
    SplittableRandom random = new SplittableRandom(5);
    double[] shifted = new double[100_000];
    for (int i = 0; i < shifted.length; i++) {
      shifted[i] = 4.1 + 1.5 * random.nextGaussian();
    }
    assertThat(Fidelity.ks(shifted, x -> Normal.cdf(x, 4.0, 1.5))).isGreaterThan(0.02);
    double[] right = new double[100_000];
    for (int i = 0; i < right.length; i++) {
      right[i] = 4.0 + 1.5 * random.nextGaussian();
    }
    assertThat(Fidelity.ks(right, x -> Normal.cdf(x, 4.0, 1.5))).isLessThan(0.01);
    long[] skewed = {30_000, 70_000};
    assertThat(Fidelity.tv(skewed, new fortress.decoy.generate.Weighted(1, 1))).isEqualTo(0.2, org.assertj.core.data
        .Offset.offset(1e-12));
  }

  @Test
  void normalCdf_matchesKnownValues() {
    assertThat(Normal.cdf(0)).isEqualTo(0.5, org.assertj.core.data.Offset.offset(1e-7));
    assertThat(Normal.cdf(1.959964)).isEqualTo(0.975, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(Normal.cdf(-1)).isEqualTo(0.158655, org.assertj.core.data.Offset.offset(1e-6));
  }
}
