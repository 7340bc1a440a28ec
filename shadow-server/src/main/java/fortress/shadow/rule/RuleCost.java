package fortress.shadow.rule;

import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelExpr.CelComprehension;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A static upper estimate of an expression's evaluation cost, in abstract units: one per node,
 * extra for string scans, list membership and regular expressions, and a comprehension's body
 * multiplied by the most elements it can range over. That is the size of a list or map literal
 * (so a literal of 1,000 elements counts 1,000 times, not 64), 64 for {@code headers}, the range
 * of the comprehension that built a list, an iteration variable's bound when it walks a literal of
 * literals, and otherwise the run-time iteration ceiling. Nested comprehensions multiply, which is
 * exactly what the limit is there to stop.
 */
final class RuleCost {
  /** RequestAttributes holds at most 64 headers. */
  static final long HEADERS_MAX = 64;
  private static final long STRING_SCAN = 8;
  private static final long REGEX = 64;
  private static final long SATURATED = Long.MAX_VALUE / 4;

  private final long iterationsMax;

  /** {@code iterationsMax}: the run-time ceiling on a comprehension's iterations. */
  RuleCost(long iterationsMax) {
    this.iterationsMax = iterationsMax;
  }

  long of(CelExpr e) {
    return of(e, Map.of());
  }

  /** {@code sizes}: the most elements each iteration variable in scope can hold, where known. */
  private long of(CelExpr e, Map<String, Long> sizes) {
    return switch (e.exprKind().getKind()) {
      case CONSTANT, IDENT, NOT_SET -> 1;
      case SELECT -> 1 + of(e.select().operand(), sizes);
      case CALL -> {
        long cost = 1 + e.call().target().map(t -> of(t, sizes)).orElse(0L);
        for (CelExpr arg : e.call().args()) {
          cost = saturatedAdd(cost, of(arg, sizes));
        }
        yield saturatedAdd(cost, switch (e.call().function()) {
          case "contains", "startsWith", "endsWith", "_==_", "_!=_", "size" -> STRING_SCAN;
          case "matches" -> REGEX;
          case "@in" -> size(e.call().args().get(1), sizes);
          default -> 0;
        });
      }
      case LIST -> 1 + e.list().elements().stream().mapToLong(x -> of(x, sizes)).reduce(0, RuleCost::saturatedAdd);
      case MAP -> 1 + e.map().entries().stream().mapToLong(x -> saturatedAdd(of(x.key(), sizes), of(x.value(), sizes)))
          .reduce(0, RuleCost::saturatedAdd);
      case STRUCT -> 1 + e.struct().entries().stream().mapToLong(x -> of(x.value(), sizes))
          .reduce(0, RuleCost::saturatedAdd);
      case COMPREHENSION -> {
        CelComprehension c = e.comprehension();
        Map<String, Long> inner = new HashMap<>(sizes);
        inner.put(c.iterVar(), elementSize(c.iterRange(), sizes));
        inner.remove(c.accuVar());
        long body = saturatedAdd(of(c.loopCondition(), inner), of(c.loopStep(), inner));
        long cost = saturatedAdd(1 + of(c.iterRange(), sizes), of(c.accuInit(), sizes));
        cost = saturatedAdd(cost, saturatedMultiply(size(c.iterRange(), sizes), body));
        yield saturatedAdd(cost, of(c.result(), inner));
      }
    };
  }

  /** The most elements {@code e} can hold (or a comprehension over it can visit). */
  private long size(CelExpr e, Map<String, Long> sizes) {
    long size = switch (e.exprKind().getKind()) {
      case LIST -> e.list().elements().size();
      case MAP -> e.map().entries().size();
      case IDENT -> e.ident().name().equals("headers") ? HEADERS_MAX
          : sizes.getOrDefault(e.ident().name(), iterationsMax);
      // The standard macros (map, filter) add at most one element per element of their range.
      case COMPREHENSION -> size(e.comprehension().iterRange(), sizes);
      case CALL -> e.call().function().equals("_+_") && e.call().args().size() == 2
          ? saturatedAdd(size(e.call().args().get(0), sizes), size(e.call().args().get(1), sizes)) : iterationsMax;
      default -> iterationsMax;
    };
    return Math.min(size, iterationsMax);
  }

  /** The most elements an element of {@code range} can hold: known for a literal of literals. */
  private long elementSize(CelExpr range, Map<String, Long> sizes) {
    if (range.exprKind().getKind() != CelExpr.ExprKind.Kind.LIST || range.list().elements().isEmpty()) {
      return iterationsMax;
    }
    return range.list().elements().stream().mapToLong(x -> size(x, sizes)).max().orElse(iterationsMax);
  }

  /**
   * Whether the run time can depend on more than the expression's size: it has a comprehension or
   * a regular expression. Only such rules need a time budget at run time.
   */
  static boolean open(CelExpr e) {
    if (e.exprKind().getKind() == CelExpr.ExprKind.Kind.COMPREHENSION
        || e.exprKind().getKind() == CelExpr.ExprKind.Kind.CALL && e.call().function().equals("matches")) {
      return true;
    }
    for (CelExpr child : children(e)) {
      if (open(child)) {
        return true;
      }
    }
    return false;
  }

  private static long saturatedAdd(long a, long b) {
    return Math.min(SATURATED, a + b);
  }

  private static long saturatedMultiply(long a, long b) {
    long product = a * b;
    return (b != 0 && product / b != a) || product > SATURATED ? SATURATED : product;
  }

  /** The direct sub-expressions of an expression. */
  static List<CelExpr> children(CelExpr e) {
    List<CelExpr> out = new ArrayList<>();
    switch (e.exprKind().getKind()) {
      case SELECT -> out.add(e.select().operand());
      case CALL -> {
        e.call().target().ifPresent(out::add);
        out.addAll(e.call().args());
      }
      case LIST -> out.addAll(e.list().elements());
      case MAP -> e.map().entries().forEach(x -> {
        out.add(x.key());
        out.add(x.value());
      });
      case STRUCT -> e.struct().entries().forEach(x -> out.add(x.value()));
      case COMPREHENSION -> {
        CelComprehension c = e.comprehension();
        out.addAll(List.of(c.iterRange(), c.accuInit(), c.loopCondition(), c.loopStep(), c.result()));
      }
      default -> { }
    }
    return out;
  }
}
