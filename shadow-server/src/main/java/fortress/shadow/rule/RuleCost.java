package fortress.shadow.rule;

import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelExpr.CelComprehension;
import java.util.ArrayList;
import java.util.List;

/**
 * A static upper estimate of an expression's evaluation cost, in abstract units: one per node,
 * extra for string scans and regular expressions, and a comprehension's body multiplied by the
 * most elements it can range over (the header limit). Nested comprehensions multiply, which is
 * exactly what the limit is there to stop.
 */
final class RuleCost {
  /** The most elements a comprehension can range over: RequestAttributes holds at most 64 headers. */
  static final long RANGE_MAX = 64;
  private static final long STRING_SCAN = 8;
  private static final long REGEX = 64;

  private RuleCost() {}

  static long of(CelExpr e) {
    return switch (e.exprKind().getKind()) {
      case CONSTANT, IDENT, NOT_SET -> 1;
      case SELECT -> 1 + of(e.select().operand());
      case CALL -> {
        long cost = 1 + e.call().target().map(RuleCost::of).orElse(0L);
        for (CelExpr arg : e.call().args()) {
          cost += of(arg);
        }
        yield cost + switch (e.call().function()) {
          case "contains", "startsWith", "endsWith", "_==_", "_!=_", "size" -> STRING_SCAN;
          case "matches" -> REGEX;
          default -> 0;
        };
      }
      case LIST -> 1 + e.list().elements().stream().mapToLong(RuleCost::of).sum();
      case MAP -> 1 + e.map().entries().stream().mapToLong(x -> of(x.key()) + of(x.value())).sum();
      case STRUCT -> 1 + e.struct().entries().stream().mapToLong(x -> of(x.value())).sum();
      case COMPREHENSION -> {
        CelComprehension c = e.comprehension();
        long body = of(c.loopCondition()) + of(c.loopStep());
        yield 1 + of(c.iterRange()) + of(c.accuInit()) + saturatedMultiply(RANGE_MAX, body) + of(c.result());
      }
    };
  }

  private static long saturatedMultiply(long a, long b) {
    long product = a * b;
    return (b != 0 && product / b != a) ? Long.MAX_VALUE / 4 : product;
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
