package fortress.shadow.eval;

/** The standard normal distribution, and the chi-square tail with one degree of freedom. */
public final class Normal {
  private Normal() {}

  public static double density(double z) {
    return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  }

  /** Φ(z). */
  public static double cdf(double z) {
    return 0.5 * erfc(-z / Math.sqrt(2));
  }

  /** P(χ²₁ >= statistic): the p-value of a chi-square test with one degree of freedom. */
  public static double chiSquareOneTail(double statistic) {
    return statistic <= 0 ? 1 : erfc(Math.sqrt(statistic / 2));
  }

  /**
   * The complementary error function, from its Chebyshev fit (fractional error below 1.2e-7
   * everywhere), which is ample for probabilities compared with thresholds such as 0.001.
   */
  static double erfc(double x) {
    double z = Math.abs(x);
    double t = 1 / (1 + 0.5 * z);
    double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? r : 2 - r;
  }
}
