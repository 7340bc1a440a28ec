package fortress.shadow.rollout;

import fortress.shadow.rule.CompiledRule;
import java.util.List;

/**
 * What Decide runs, swapped whole whenever a deploy or rollout changes it: every rule's champion
 * and, while a rollout is running, its challenger and split.
 *
 * @param champions the champion of every rule, except the rule being rolled out
 * @param rollout the running rollout, or null
 */
public record Policy(List<CompiledRule> champions, Live rollout) {
  public static final Policy EMPTY = new Policy(List.of(), null);

  public Policy {
    champions = List.copyOf(champions);
  }

  /**
   * A running rollout as Decide sees it.
   *
   * @param champion the rule's champion version, or null when the rule had none
   */
  public record Live(long rolloutId, int segment, int percent, CompiledRule champion, CompiledRule challenger) {}
}
