package fortress.decoy.generate;

import com.google.protobuf.Timestamp;
import fortress.decoy.v1.Transaction;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic card transactions. Legitimate amounts are LogNormal(4.0, 1.5) in dollars, stored in
 * cents; 5% are fraud, drawn from LogNormal(5.5, 1.2), night hours and a handful of categories.
 * Times fall in 2026, with the hour of day following a daily rhythm.
 */
public final class Transactions {
  public static final double FRAUD_RATE = 0.05;
  public static final double AMOUNT_MU = 4.0;
  public static final double AMOUNT_SIGMA = 1.5;
  public static final double FRAUD_AMOUNT_MU = 5.5;
  public static final double FRAUD_AMOUNT_SIGMA = 1.2;
  public static final List<String> CATEGORIES = List.of("grocery", "restaurants", "fuel", "travel", "electronics",
      "clothing", "entertainment", "health", "utilities", "online_services", "jewelry", "money_transfer");
  public static final Weighted CATEGORY = new Weighted(20, 15, 10, 5, 6, 9, 7, 7, 8, 8, 2, 3);
  public static final Weighted FRAUD_CATEGORY = new Weighted(3, 2, 3, 12, 22, 6, 4, 1, 1, 16, 14, 16);
  /** Legitimate spending by hour of day (UTC): quiet nights, a midday and an evening peak. */
  public static final Weighted HOUR = new Weighted(1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4, 4.5, 5, 6, 5.5, 5,
      5, 5.5, 6.5, 7, 6.5, 5.5, 4.5, 3, 2);
  /** Fraud by hour of day: mostly at night. */
  public static final Weighted FRAUD_HOUR = new Weighted(6, 7, 7, 6.5, 5.5, 4, 2.5, 1.5, 1, 1, 1, 1, 1, 1, 1, 1, 1,
      1, 1.5, 2, 2.5, 3.5, 4.5, 5.5);
  private static final String[] CURRENCIES = {"USD", "EUR", "GBP"};
  private static final Weighted CURRENCY = new Weighted(60, 25, 15);
  private static final long YEAR_START = 1_767_225_600L; // 2026-01-01T00:00:00Z
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Transactions() {}

  public static Transaction generate(SplittableRandom random) {
    boolean fraud = random.nextDouble() < FRAUD_RATE;
    double dollars = fraud
        ? Math.exp(FRAUD_AMOUNT_MU + FRAUD_AMOUNT_SIGMA * random.nextGaussian())
        : Math.exp(AMOUNT_MU + AMOUNT_SIGMA * random.nextGaussian());
    long cents = Math.max(1, Math.round(Math.min(dollars, 1e15) * 100));
    int category = (fraud ? FRAUD_CATEGORY : CATEGORY).sample(random);
    int hour = (fraud ? FRAUD_HOUR : HOUR).sample(random);
    long seconds = YEAR_START + random.nextInt(365) * 86_400L + hour * 3_600L + random.nextInt(3_600);
    return Transaction.newBuilder()
        .setTransactionId(id(random.nextLong()))
        .setAmountCents(cents)
        .setCurrency(CURRENCIES[CURRENCY.sample(random)])
        .setMerchantCategory(CATEGORIES.get(category))
        .setTime(Timestamp.newBuilder().setSeconds(seconds).setNanos(random.nextInt(1_000) * 1_000_000))
        .setFraud(fraud)
        .setCardLast4(Integer.toString(10_000 + random.nextInt(10_000)).substring(1))
        .build();
  }

  private static String id(long bits) {
    char[] out = new char[19];
    out[0] = 't';
    out[1] = 'x';
    out[2] = '-';
    for (int i = 0; i < 16; i++) {
      out[3 + i] = HEX[(int) (bits >>> (60 - 4 * i)) & 0xF];
    }
    return new String(out);
  }
}
