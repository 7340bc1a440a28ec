package fortress.shadow.rule;

import dev.cel.common.ast.CelExpr;
import dev.cel.runtime.CelEvaluationListener;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The time budget of one evaluation, as a listener CEL calls after every node it evaluates. Every
 * {@link #CHECK_UNITS} units (a node is one, a regular expression {@link #REGEX_UNITS}) it reads the
 * evaluating thread's CPU clock, which a busy machine does not advance while the thread waits;
 * past the budget it throws, and keeps throwing on every later node, so an error absorbed by
 * {@code ||} or {@code exists} cannot let the evaluation carry on. The clock starts at the first
 * check: an evaluation too short to reach it never reads the clock.
 */
final class Budget implements CelEvaluationListener {
  static final int CHECK_UNITS = 256;
  static final int REGEX_UNITS = 64;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final boolean CPU_CLOCK = THREADS.isCurrentThreadCpuTimeSupported();

  /** Thrown into CEL's interpreter once the budget is spent. */
  static final class Exceeded extends RuntimeException {
    Exceeded(long budgetNanos) {
      super("evaluation stopped: it ran past its time budget of " + budgetNanos / 1_000_000 + " ms", null, false,
          false);
    }
  }

  private final long budgetNanos;
  private long startNanos = -1;
  private int units;
  private boolean exceeded;

  Budget(long budgetNanos) {
    this.budgetNanos = budgetNanos;
  }

  boolean exceeded() {
    return exceeded;
  }

  @Override
  public void callback(CelExpr expr, Object result) {
    if (exceeded) {
      throw new Exceeded(budgetNanos);
    }
    units += expr.exprKind().getKind() == CelExpr.ExprKind.Kind.CALL && expr.call().function().equals("matches")
        ? REGEX_UNITS : 1;
    if (units < CHECK_UNITS) {
      return;
    }
    units = 0;
    long now = CPU_CLOCK ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    if (startNanos < 0) {
      startNanos = now;
    } else if (now - startNanos > budgetNanos) {
      exceeded = true;
      throw new Exceeded(budgetNanos);
    }
  }
}
