package fortress.decoy.generate;

import java.util.SplittableRandom;

/** A discrete distribution over 0..n-1 from weights, sampled by binary search over the cumulative sums. */
public final class Weighted {
  private final double[] probabilities;
  private final double[] cumulative;

  public Weighted(double... weights) {
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    probabilities = new double[weights.length];
    cumulative = new double[weights.length];
    double sum = 0;
    for (int i = 0; i < weights.length; i++) {
      probabilities[i] = weights[i] / total;
      sum += probabilities[i];
      cumulative[i] = sum;
    }
    cumulative[weights.length - 1] = 1.0;
  }

  public int sample(SplittableRandom random) {
    double u = random.nextDouble();
    int lo = 0;
    int hi = cumulative.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (u < cumulative[mid]) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** The probability of outcome i. */
  public double probability(int i) {
    return probabilities[i];
  }

  public int size() {
    return probabilities.length;
  }
}
