package fortress.shadow.eval;

import fortress.shadow.rule.Attributes;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.v1.ConfusionMatrix;
import fortress.shadow.v1.Label;

/**
 * One rule's confusion matrix, counted sample by sample. A null rule is the empty baseline: it
 * flags nothing. Not thread-safe; one tally per job.
 */
public final class Tally {
  private final CompiledRule rule;
  private long truePositives;
  private long falseNegatives;
  private long falsePositives;
  private long trueNegatives;
  private long errors;

  public Tally(CompiledRule rule) {
    this.rule = rule;
  }

  public void add(Attributes attributes, Label label) {
    boolean flagged = false;
    if (rule != null && rule.enforcing()) {
      try {
        flagged = rule.matches(attributes);
      } catch (CompiledRule.EvaluationError e) {
        errors++;
      }
    }
    if (label == Label.LABEL_MALICIOUS) {
      if (flagged) {
        truePositives++;
      } else {
        falseNegatives++;
      }
    } else if (flagged) {
      falsePositives++;
    } else {
      trueNegatives++;
    }
  }

  public ConfusionMatrix matrix() {
    return ConfusionMatrix.newBuilder()
        .setTruePositives(truePositives)
        .setFalseNegatives(falseNegatives)
        .setFalsePositives(falsePositives)
        .setTrueNegatives(trueNegatives)
        .setErrors(errors)
        .build();
  }
}
