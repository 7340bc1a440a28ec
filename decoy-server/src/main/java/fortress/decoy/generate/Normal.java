package fortress.decoy.generate;

/** The standard normal distribution function, to about 1e-7 (Abramowitz and Stegun 7.1.26 on erf). */
public final class Normal {
  private Normal() {}

  public static double cdf(double z) {
    double x = Math.abs(z) / Math.sqrt(2);
    double t = 1 / (1 + 0.3275911 * x);
    double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    double erf = 1 - poly * Math.exp(-x * x);
    return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
  }

  /** P(X <= x) for X ~ Normal(mean, sd). */
  public static double cdf(double x, double mean, double sd) {
    return cdf((x - mean) / sd);
  }
}
