package fortress.shadow.eval;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * A Beta(alpha, beta) distribution, and the comparisons of two of them that the verdicts need.
 *
 * <p>P(X > Y) for Beta variables with a whole-number shape has a closed form: a finite sum of Beta
 * functions (see {@link #probabilityGreater}). Of the four equivalent sums the shortest is taken;
 * only when even that is longer than {@link #EXACT_TERMS_MAX} is the normal approximation used,
 * which at such counts is accurate to far better than the thresholds it is compared with.
 */
public record Beta(double alpha, double beta) {
  /** Above this many terms in the shortest exact sum, P(X > Y) uses the normal approximation. */
  public static final int EXACT_TERMS_MAX = 100_000;

  public Beta {
    checkArgument(alpha > 0 && beta > 0, "Beta(%s, %s) needs positive shapes", alpha, beta);
  }

  public double mean() {
    return alpha / (alpha + beta);
  }

  public double variance() {
    double n = alpha + beta;
    return alpha * beta / (n * n * (n + 1));
  }

  /** The regularized incomplete beta function I_x(alpha, beta): P(X <= x). */
  public double cdf(double x) {
    if (x <= 0) {
      return 0;
    }
    if (x >= 1) {
      return 1;
    }
    double front = Math.exp(alpha * Math.log(x) + beta * Math.log1p(-x) - logBeta(alpha, beta));
    if (x < (alpha + 1) / (alpha + beta + 2)) {
      return front * continuedFraction(alpha, beta, x) / alpha;
    }
    return 1 - front * continuedFraction(beta, alpha, 1 - x) / beta;
  }

  /** The p-quantile, by bisection on the CDF (60 halvings: exact to double precision). */
  public double quantile(double p) {
    checkArgument(p > 0 && p < 1, "quantile needs 0 < p < 1, got %s", p);
    double lo = 0;
    double hi = 1;
    for (int i = 0; i < 60; i++) {
      double mid = (lo + hi) / 2;
      if (cdf(mid) < p) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return (lo + hi) / 2;
  }

  /** Whether {@link #probabilityGreater} uses the exact sum for these two. */
  public static boolean exact(Beta x, Beta y) {
    return shortestSum(x, y) <= EXACT_TERMS_MAX;
  }

  /**
   * P(X > Y) for independent X ~ x and Y ~ y. Needs whole-number shapes for the exact sum.
   *
   * <p>With X ~ Beta(a, b) and Y ~ Beta(c, d): P(X > Y) = sum over i in [0, a) of
   * B(c + i, b + d) / ((b + i) B(1 + i, b) B(c, d)). Swapping the roles (P(X > Y) = 1 - P(Y > X))
   * and mirroring (P(X > Y) = P(1 - Y > 1 - X)) give sums of length c, d and b as well.
   */
  public static double probabilityGreater(Beta x, Beta y) {
    if (!exact(x, y)) {
      double sd = Math.sqrt(x.variance() + y.variance());
      return Normal.cdf((x.mean() - y.mean()) / sd);
    }
    checkArgument(whole(x) && whole(y), "the exact sum needs whole-number shapes: %s, %s", x, y);
    double a = x.alpha;
    double b = x.beta;
    double c = y.alpha;
    double d = y.beta;
    double shortest = Math.min(Math.min(a, b), Math.min(c, d));
    double p;
    if (shortest == a) {
      p = sum(a, b, c, d);
    } else if (shortest == c) {
      p = 1 - sum(c, d, a, b);
    } else if (shortest == b) {
      p = 1 - sum(b, a, d, c);
    } else {
      p = sum(d, c, b, a);
    }
    return Math.min(1, Math.max(0, p));
  }

  /** E[max(X - Y, 0)]: how much X is expected to exceed Y, counting only where it does. */
  public static double expectedExcess(Beta x, Beta y) {
    if (!exact(x, y)) {
      double mu = x.mean() - y.mean();
      double sd = Math.sqrt(x.variance() + y.variance());
      return mu * Normal.cdf(mu / sd) + sd * Normal.density(mu / sd);
    }
    // E[X 1{X > Y}] = E[X] P(X' > Y) with X' ~ Beta(a + 1, b), and likewise for Y.
    double excess = x.mean() * probabilityGreater(new Beta(x.alpha + 1, x.beta), y)
        - y.mean() * probabilityGreater(x, new Beta(y.alpha + 1, y.beta));
    return Math.max(0, excess);
  }

  /** P(Beta(a, b) > Beta(c, d)) as the sum over i in [0, a). */
  private static double sum(double a, double b, double c, double d) {
    double logBetaCd = logBeta(c, d);
    double total = 0;
    for (int i = 0; i < a; i++) {
      total += Math.exp(logBeta(c + i, b + d) - Math.log(b + i) - logBeta(1 + i, b) - logBetaCd);
    }
    return total;
  }

  private static double shortestSum(Beta x, Beta y) {
    return Math.min(Math.min(x.alpha, x.beta), Math.min(y.alpha, y.beta));
  }

  private static boolean whole(Beta b) {
    return b.alpha == Math.rint(b.alpha) && b.beta == Math.rint(b.beta);
  }

  static double logBeta(double a, double b) {
    return logGamma(a) + logGamma(b) - logGamma(a + b);
  }

  private static final double[] LANCZOS = {
      0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
      -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
      1.5056327351493116e-7};

  /** ln Γ(x) for x > 0, by the Lanczos approximation (g = 7, nine terms; about 15 digits). */
  static double logGamma(double x) {
    checkArgument(x > 0, "logGamma needs x > 0, got %s", x);
    if (x < 0.5) {
      // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
      return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    }
    double z = x - 1;
    double sum = LANCZOS[0];
    for (int i = 1; i < LANCZOS.length; i++) {
      sum += LANCZOS[i] / (z + i);
    }
    double t = z + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
  }

  /** The continued fraction of the incomplete beta function, by the modified Lentz method. */
  private static double continuedFraction(double a, double b, double x) {
    final double tiny = 1e-300;
    final double epsilon = 1e-15;
    int iterationsMax = 1_000 + (int) (10 * Math.sqrt(a + b));
    double qab = a + b;
    double qap = a + 1;
    double qam = a - 1;
    double c = 1;
    double d = 1 - qab * x / qap;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= iterationsMax; m++) {
      int m2 = 2 * m;
      double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      double delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) < epsilon) {
        return h;
      }
    }
    return h;
  }
}
