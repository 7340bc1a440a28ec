package fortress.shadow.rule;

import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import fortress.shadow.v1.Action;

/**
 * A rule version ready to run. {@link #matches} is true when the expression is; a rule
 * <em>flags</em> a request when it matches and its action is not ALLOW. An expression that fails
 * at run time (say, a missing header key) does not match; offline evaluation counts such errors.
 */
public record CompiledRule(String ruleId, String version, Action action, CelRuntime.Program program) {

  /** Thrown when the expression fails on one request; the rule does not match that request. */
  public static final class EvaluationError extends Exception {
    EvaluationError(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  public boolean matches(Attributes attributes) throws EvaluationError {
    try {
      return Boolean.TRUE.equals(program.eval(attributes));
    } catch (CelEvaluationException | RuntimeException e) {
      throw new EvaluationError(e);
    }
  }

  /** Whether a match enforces something: ALLOW only records the match. */
  public boolean enforcing() {
    return action != Action.ACTION_ALLOW;
  }
}
