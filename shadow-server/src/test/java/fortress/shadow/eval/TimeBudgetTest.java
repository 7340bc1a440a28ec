package fortress.shadow.eval;

import static fortress.shadow.TestShadow.ref;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.shadow.TestShadow;
import fortress.shadow.v1.*;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** An evaluation that runs past its time budget stops, and counts as an error: the rule did not match. */
class TimeBudgetTest {
  @Test
  void aRulePastItsTimeBudget_isCutOff_andEachSampleCountsAsAnError() {
    // A cost limit high enough to let a 1,000-step comprehension of regular expressions in, so
    // only the budget stands in its way.
    try (TestShadow shadow = new TestShadow("--rule-cost-max=10000000", "--rule-evaluation-timeout-ms=5")) {
      String literal = IntStream.range(0, 1000).mapToObj(i -> Integer.toString(i % 10))
          .collect(Collectors.joining(",", "[", "]"));
      // True once every element is visited: about 100 ms of regular expressions over a long path.
      Rule slow = shadow.createRule("slow", literal + ".all(x, !path.matches('(a|b|c|d)*(e|f)+z$'))",
          Action.ACTION_DENY);
      Rule quick = shadow.createRule("quick", "path.startsWith('/a')", Action.ACTION_DENY);
      List<Sample> samples = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        samples.add(Sample.newBuilder().setLabel(i % 2 == 0 ? Label.LABEL_MALICIOUS : Label.LABEL_BENIGN)
            .setAttributes(RequestAttributes.newBuilder().setIp("203.0.113.1").setPath("/a" + "a".repeat(2000)))
            .build());
      }
      shadow.record("long-paths", samples);
      Evaluation e = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("long-paths")
          .setChallenger(ref(slow)).setChampion(ref(quick)));
      assertThat(e.getState()).isEqualTo(EvaluationState.EVALUATION_STATE_SUCCEEDED);
      ConfusionMatrix cut = e.getResult().getChallengerMatrix();
      assertThat(cut.getErrors()).as("every evaluation of the slow rule was cut off").isEqualTo(10);
      assertThat(cut.getTruePositives() + cut.getFalsePositives()).isZero();
      ConfusionMatrix champion = e.getResult().getChampionMatrix();
      assertThat(champion.getErrors()).isZero();
      assertThat(champion.getTruePositives()).isEqualTo(5);
    }
  }
}
