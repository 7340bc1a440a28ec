package fortress.decoy.generate;

import fortress.decoy.v1.UserProfile;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Synthetic people. Age ~ Normal(38, 15) truncated to [18, 91) and floored to whole years; the
 * region is uniform over the five, the locale, city, names and email domain uniform within it.
 */
public final class Profiles {
  public static final double AGE_MEAN = 38;
  public static final double AGE_SD = 15;
  public static final int AGE_MIN = 18;
  public static final int AGE_MAX = 90;

  private Profiles() {}

  public static UserProfile generate(SplittableRandom random) {
    Regions.Region region = Regions.ALL.get(random.nextInt(Regions.ALL.size()));
    Regions.Locale locale = region.locales().get(random.nextInt(region.locales().size()));
    Regions.City city = locale.cities().get(random.nextInt(locale.cities().size()));
    String given = locale.givenNames().get(random.nextInt(locale.givenNames().size()));
    String family = locale.familyNames().get(random.nextInt(locale.familyNames().size()));
    String domain = locale.emailDomains().get(random.nextInt(locale.emailDomains().size()));
    String local = switch (random.nextInt(3)) {
      case 0 -> given + "." + family;
      case 1 -> given.charAt(0) + family;
      default -> given + family + (10 + random.nextInt(90));
    };
    return UserProfile.newBuilder()
        .setGivenName(given)
        .setFamilyName(family)
        .setEmail(local.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.]", "") + "@" + domain)
        .setAge(age(random))
        .setCity(city.name())
        .setRegion(region.name())
        .setTimezone(city.timezone())
        .setCountry(locale.country())
        .build();
  }

  static int age(SplittableRandom random) {
    double x;
    do {
      x = AGE_MEAN + AGE_SD * random.nextGaussian();
    } while (x < AGE_MIN || x >= AGE_MAX + 1);
    return (int) Math.floor(x);
  }

  /** P(age <= a) of the target: the truncated normal, floored. */
  public static double ageCdf(int a) {
    double low = Normal.cdf(AGE_MIN, AGE_MEAN, AGE_SD);
    double high = Normal.cdf(AGE_MAX + 1, AGE_MEAN, AGE_SD);
    if (a < AGE_MIN) {
      return 0;
    }
    if (a >= AGE_MAX) {
      return 1;
    }
    return (Normal.cdf(a + 1, AGE_MEAN, AGE_SD) - low) / (high - low);
  }
}
