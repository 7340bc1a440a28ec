package fortress.shadow.rule;

import static com.google.common.base.Preconditions.checkArgument;

import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import fortress.shadow.v1.Action;

/**
 * A rule version ready to run. {@link #matches} is true when the expression is; a rule
 * <em>flags</em> a request when it matches and its action is not ALLOW. An expression that fails
 * at run time (say, a missing header key), or runs past its time budget, does not match;
 * offline evaluation counts such errors. {@code budgetNanos} is 0 for an expression whose run time
 * is bounded by its size (no comprehension, no regular expression): it runs without the budget's
 * bookkeeping.
 */
public record CompiledRule(String ruleId, String version, Action action, CelRuntime.Program program,
    long budgetNanos) {

  public CompiledRule {
    checkArgument(budgetNanos >= 0, "budgetNanos must not be negative");
  }

  /** Thrown when the expression fails on one request; the rule does not match that request. */
  public static final class EvaluationError extends Exception {
    private final boolean timedOut;

    EvaluationError(Throwable cause, boolean timedOut) {
      super(cause.getMessage(), cause, false, false);
      this.timedOut = timedOut;
    }

    /** Whether the evaluation was stopped by its time budget. */
    public boolean timedOut() {
      return timedOut;
    }
  }

  public boolean matches(Attributes attributes) throws EvaluationError {
    if (budgetNanos == 0) {
      try {
        return Boolean.TRUE.equals(program.eval(attributes));
      } catch (CelEvaluationException | RuntimeException e) {
        throw new EvaluationError(e, false);
      }
    }
    Budget budget = new Budget(budgetNanos);
    Object result;
    try {
      result = program.trace(attributes, budget);
    } catch (CelEvaluationException | RuntimeException e) {
      throw new EvaluationError(budget.exceeded() ? new Budget.Exceeded(budgetNanos) : e, budget.exceeded());
    }
    if (budget.exceeded()) {
      throw new EvaluationError(new Budget.Exceeded(budgetNanos), true);
    }
    return Boolean.TRUE.equals(result);
  }

  /** Whether a match enforces something: ALLOW only records the match. */
  public boolean enforcing() {
    return action != Action.ACTION_ALLOW;
  }
}
