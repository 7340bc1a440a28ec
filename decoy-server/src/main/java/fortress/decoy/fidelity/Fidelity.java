package fortress.decoy.fidelity;

import fortress.decoy.generate.Generators;
import fortress.decoy.generate.Logs;
import fortress.decoy.generate.Normal;
import fortress.decoy.generate.Profiles;
import fortress.decoy.generate.Regions;
import fortress.decoy.generate.Transactions;
import fortress.decoy.generate.Weighted;
import fortress.decoy.v1.FidelityFigure;
import fortress.decoy.v1.GetFidelityReportResponse;
import fortress.decoy.v1.LogLevel;
import fortress.decoy.v1.GeneratedRecord;
import fortress.decoy.v1.RecordKind;
import fortress.decoy.v1.Transaction;
import fortress.decoy.v1.UserProfile;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;

/**
 * Measures generated data against the distributions it is meant to follow: Kolmogorov-Smirnov
 * statistics for ages and log amounts, total-variation distances for categories and hours, and
 * rates for fraud and log errors. Legitimate and fraudulent transactions are measured against
 * their own targets. The tolerances are what a sample of 100,000 meets with a wide margin when
 * the generators are right (the expected KS statistic at that size is about 0.003).
 */
public final class Fidelity {
  public static final double KS_TOLERANCE = 0.02;
  public static final double TV_TOLERANCE = 0.02;
  /** Fraud is 5% of the sample, so its figures rest on a twentieth of the records. */
  public static final double FRAUD_DISTRIBUTION_TOLERANCE = 0.06;
  public static final double FRAUD_RATE_TOLERANCE = 0.005;
  /** Log errors must stay within 2-5%. */
  public static final double LOG_ERROR_RATE_TARGET = 0.035;
  public static final double LOG_ERROR_RATE_TOLERANCE = 0.015;

  private Fidelity() {}

  /** Generates {@code n} records of each measured kind from {@code seed} and reports every figure. */
  public static GetFidelityReportResponse report(int n, long seed) {
    GetFidelityReportResponse.Builder report = GetFidelityReportResponse.newBuilder().setSeed(seed);
    int[] ages = new int[n];
    int consistent = 0;
    for (int i = 0; i < n; i++) {
      UserProfile p = Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, seed, "", i, null).getUserProfile();
      ages[i] = p.getAge();
      Regions.Region region = Regions.regionOf(p.getCountry(), p.getCity(), p.getTimezone());
      if (region != null && region.name().equals(p.getRegion())) {
        consistent++;
      }
    }
    report.addFigures(figure("ks_age", "KS statistic of age against Normal(38, 15) truncated to 18-90, in whole years",
        ksDiscrete(ages, Profiles::ageCdf), 0, KS_TOLERANCE, n));
    report.addFigures(figure("profile_consistency", "share of profiles whose city, country, timezone and region agree",
        consistent / (double) n, 1, 0, n));

    double[] legitLog = new double[n];
    double[] fraudLog = new double[n];
    int legit = 0;
    int fraud = 0;
    long[] categories = new long[Transactions.CATEGORIES.size()];
    long[] fraudCategories = new long[Transactions.CATEGORIES.size()];
    long[] hours = new long[24];
    long[] fraudHours = new long[24];
    for (int i = 0; i < n; i++) {
      Transaction t = Generators.generate(RecordKind.RECORD_KIND_TRANSACTION, seed, "", i, null).getTransaction();
      double log = Math.log(t.getAmountCents() / 100.0);
      int category = Transactions.CATEGORIES.indexOf(t.getMerchantCategory());
      int hour = Instant.ofEpochSecond(t.getTime().getSeconds()).atZone(ZoneOffset.UTC).getHour();
      if (t.getFraud()) {
        fraudLog[fraud++] = log;
        fraudCategories[category]++;
        fraudHours[hour]++;
      } else {
        legitLog[legit++] = log;
        categories[category]++;
        hours[hour]++;
      }
    }
    report.addFigures(figure("ks_log_amount", "KS statistic of ln(amount in dollars) of legitimate transactions "
        + "against Normal(4.0, 1.5)", ks(Arrays.copyOf(legitLog, legit),
        x -> Normal.cdf(x, Transactions.AMOUNT_MU, Transactions.AMOUNT_SIGMA)), 0, KS_TOLERANCE, legit));
    report.addFigures(figure("tv_category", "total-variation distance of legitimate merchant categories from "
        + "their target", tv(categories, Transactions.CATEGORY), 0, TV_TOLERANCE, legit));
    report.addFigures(figure("tv_hour", "total-variation distance of legitimate hours of day from the daily rhythm",
        tv(hours, Transactions.HOUR), 0, TV_TOLERANCE, legit));
    report.addFigures(figure("fraud_rate", "share of transactions that are fraud", fraud / (double) n,
        Transactions.FRAUD_RATE, FRAUD_RATE_TOLERANCE, n));
    report.addFigures(figure("ks_log_amount_fraud", "KS statistic of ln(amount in dollars) of fraud against "
        + "Normal(5.5, 1.2)", ks(Arrays.copyOf(fraudLog, fraud),
        x -> Normal.cdf(x, Transactions.FRAUD_AMOUNT_MU, Transactions.FRAUD_AMOUNT_SIGMA)), 0,
        FRAUD_DISTRIBUTION_TOLERANCE, fraud));
    report.addFigures(figure("tv_category_fraud", "total-variation distance of fraud merchant categories from their "
        + "target", tv(fraudCategories, Transactions.FRAUD_CATEGORY), 0, FRAUD_DISTRIBUTION_TOLERANCE, fraud));
    report.addFigures(figure("tv_hour_fraud", "total-variation distance of fraud hours of day from their target",
        tv(fraudHours, Transactions.FRAUD_HOUR), 0, FRAUD_DISTRIBUTION_TOLERANCE, fraud));

    long errors = 0;
    long[] weekdays = new long[7];
    for (int i = 0; i < n; i++) {
      var line = Generators.generate(RecordKind.RECORD_KIND_LOG_LINE, seed, "", i, null).getLogLine();
      if (line.getLevel() == LogLevel.LOG_LEVEL_ERROR) {
        errors++;
      }
      weekdays[Instant.ofEpochSecond(line.getTime().getSeconds()).atZone(ZoneOffset.UTC).getDayOfWeek().ordinal()]++;
    }
    report.addFigures(figure("log_error_rate", "share of log lines at ERROR", errors / (double) n,
        LOG_ERROR_RATE_TARGET, LOG_ERROR_RATE_TOLERANCE, n));
    report.addFigures(figure("tv_log_weekday", "total-variation distance of log days of week from the weekly rhythm",
        tv(weekdays, Logs.WEEKDAY), 0, TV_TOLERANCE, n));
    report.setAllWithin(report.getFiguresList().stream().allMatch(FidelityFigure::getWithin));
    return report.build();
  }

  private static FidelityFigure figure(String name, String description, double value, double target,
      double tolerance, long size) {
    return FidelityFigure.newBuilder().setName(name).setDescription(description).setValue(value).setTarget(target)
        .setTolerance(tolerance).setWithin(Math.abs(value - target) <= tolerance + 1e-12).setSampleSize(size).build();
  }

  /** The Kolmogorov-Smirnov statistic of a sample against a continuous distribution function. */
  static double ks(double[] sample, DoubleUnaryOperator cdf) {
    if (sample.length == 0) {
      return 1;
    }
    double[] x = sample.clone();
    Arrays.sort(x);
    double d = 0;
    int n = x.length;
    for (int i = 0; i < n; i++) {
      double f = cdf.applyAsDouble(x[i]);
      d = Math.max(d, Math.max((i + 1) / (double) n - f, f - i / (double) n));
    }
    return d;
  }

  /** The KS statistic of whole-number values against the distribution function of their target. */
  static double ksDiscrete(int[] sample, java.util.function.IntToDoubleFunction cdf) {
    int[] x = sample.clone();
    Arrays.sort(x);
    int n = x.length;
    double d = 0;
    int i = 0;
    while (i < n) {
      int value = x[i];
      double below = i / (double) n;
      while (i < n && x[i] == value) {
        i++;
      }
      double f = cdf.applyAsDouble(value);
      double fBelow = cdf.applyAsDouble(value - 1);
      d = Math.max(d, Math.max(Math.abs(i / (double) n - f), Math.abs(below - fBelow)));
    }
    return d;
  }

  /** Total-variation distance between observed counts and a target distribution. */
  static double tv(long[] counts, Weighted target) {
    long total = Arrays.stream(counts).sum();
    if (total == 0) {
      return 1;
    }
    double sum = 0;
    for (int i = 0; i < counts.length; i++) {
      sum += Math.abs(counts[i] / (double) total - target.probability(i));
    }
    return sum / 2;
  }
}
