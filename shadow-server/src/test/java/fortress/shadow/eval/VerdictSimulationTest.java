package fortress.shadow.eval;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.shadow.rule.Attributes;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.rule.RuleCompiler;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.BetaPrior;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.Verdict;
import fortress.shadow.v1.VerdictSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Checks the verdict procedure's error rates by simulation, with real compiled rules over
 * synthetic datasets of 2,000 samples (1,000 MALICIOUS, 1,000 BENIGN) and the default settings.
 *
 * <p>Each sample carries two independent scores, in {@code bytes} and {@code requests_per_minute}
 * (0-9999). On MALICIOUS samples a score is uniform, so a rule {@code score < 8500} has recall
 * 0.85 and {@code score < 9000} has 0.90. On BENIGN samples a score falls below 8500 with
 * probability 0.005 and otherwise lies in [9000, 10000), so both rules have a false-positive rate
 * of 0.005. The two scores are independent, so two rules on different scores err on different
 * samples, as two genuinely different rules would.
 */
class VerdictSimulationTest {
  private static final int DATASETS = 200;
  private static final int PER_LABEL = 1_000;
  private static final RuleCompiler COMPILER = new RuleCompiler(10_000, 100);
  private static final BetaPrior UNIFORM = BetaPrior.newBuilder().setAlpha(1).setBeta(1).build();
  private static final VerdictSettings DEFAULTS = Verdicts.withDefaults(VerdictSettings.getDefaultInstance());

  private static int score(SplittableRandom random, Label label) {
    if (label == Label.LABEL_MALICIOUS) {
      return random.nextInt(10_000);
    }
    return random.nextDouble() < 0.005 ? random.nextInt(8_500) : 9_000 + random.nextInt(1_000);
  }

  static List<Sample> dataset(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Sample> samples = new ArrayList<>(2 * PER_LABEL);
    for (Label label : List.of(Label.LABEL_MALICIOUS, Label.LABEL_BENIGN)) {
      for (int i = 0; i < PER_LABEL; i++) {
        samples.add(Sample.newBuilder().setLabel(label).setAttributes(RequestAttributes.newBuilder()
            .setBytes(score(random, label)).setRequestsPerMinute(score(random, label))).build());
      }
    }
    return samples;
  }

  private static CompiledRule rule(String expression) {
    return COMPILER.compiled("sim", expression, Action.ACTION_DENY);
  }

  /** How many of the datasets give PASS for challenger against champion. */
  private static int passes(String champion, String challenger) {
    CompiledRule a = rule(champion);
    CompiledRule b = rule(challenger);
    int passes = 0;
    for (int seed = 1; seed <= DATASETS; seed++) {
      Tally ta = new Tally(a);
      Tally tb = new Tally(b);
      for (Sample s : dataset(seed)) {
        Attributes attributes = new Attributes(s.getAttributes());
        ta.add(attributes, s.getLabel());
        tb.add(attributes, s.getLabel());
      }
      if (Verdicts.judge(ta.matrix(), tb.matrix(), UNIFORM, DEFAULTS).getVerdict() == Verdict.VERDICT_PASS) {
        passes++;
      }
    }
    return passes;
  }

  @Test
  void equallyGoodRules_passInFewerThanFivePercentOfDatasets() {
    int different = passes("bytes < 8500", "requests_per_minute < 8500");
    int identical = passes("bytes < 8500", "bytes < 8500 && true");
    System.out.printf("false PASS: equally good rules %d/%d, identical predictions %d/%d%n", different, DATASETS,
        identical, DATASETS);
    assertThat(different).isLessThan(DATASETS * 5 / 100);
    assertThat(identical).isZero();
  }

  @Test
  void challengerFivePointsBetterInRecall_passesInMoreThanEightyPercentOfDatasets() {
    int passes = passes("bytes < 8500", "requests_per_minute < 9000");
    System.out.printf("power: recall 0.85 -> 0.90 at equal false-positive rate: PASS %d/%d%n", passes, DATASETS);
    assertThat(passes).isGreaterThan(DATASETS * 80 / 100);
  }

  @Test
  void challengerWorseInRecall_neverPasses_andMostlyFails() {
    CompiledRule a = rule("bytes < 9000");
    CompiledRule b = rule("requests_per_minute < 8000");
    Tally ta = new Tally(a);
    Tally tb = new Tally(b);
    for (Sample s : dataset(7)) {
      ta.add(new Attributes(s.getAttributes()), s.getLabel());
      tb.add(new Attributes(s.getAttributes()), s.getLabel());
    }
    var result = Verdicts.judge(ta.matrix(), tb.matrix(), UNIFORM, DEFAULTS);
    assertThat(result.getVerdict()).isEqualTo(Verdict.VERDICT_FAIL);
    assertThat(result.getReasons(0)).contains("recall is worse");
  }
}
