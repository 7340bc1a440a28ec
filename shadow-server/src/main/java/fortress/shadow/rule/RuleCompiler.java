package fortress.shadow.rule;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.common.hash.Hashing;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerBuilder;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import dev.cel.runtime.CelStandardFunctions;
import fortress.core.rpc.Rejection;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.ErrorReason;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * Compiles and type-checks rule expressions over {@link Attributes}, refuses those whose
 * estimated cost exceeds the limit, and caches the programs by version, so each expression is
 * compiled once per process however often it runs. A program whose run time is not bounded by
 * its size (a comprehension or a regular expression) runs under a time budget.
 */
public final class RuleCompiler {
  /** Run-time ceiling on the iterations of an evaluation's comprehensions, whatever the static estimate said. */
  private static final int COMPREHENSION_ITERATIONS_MAX = 1_000;
  private static final int REGEX_PROGRAM_SIZE_MAX = 1_000;
  /** The CPU time one evaluation of one rule may take before it is stopped and counts as an error. */
  public static final long EVALUATION_TIMEOUT_MS_DEFAULT = 20;

  private final CelCompiler compiler;
  private final CelRuntime runtime;
  private final long costMax;
  private final long budgetNanos;
  private final RuleCost cost = new RuleCost(COMPREHENSION_ITERATIONS_MAX);
  private final Cache<String, CompiledRule> programs;

  /** A type-checked expression: its version and its estimated cost. */
  public record Checked(String version, long cost, CelAbstractSyntaxTree ast) {}

  public RuleCompiler(long costMax, int cacheSizeMax) {
    this(costMax, cacheSizeMax, EVALUATION_TIMEOUT_MS_DEFAULT);
  }

  public RuleCompiler(long costMax, int cacheSizeMax, long evaluationTimeoutMs) {
    checkArgument(evaluationTimeoutMs > 0, "evaluationTimeoutMs must be positive");
    this.costMax = costMax;
    this.budgetNanos = evaluationTimeoutMs * 1_000_000;
    CelOptions options = CelOptions.current()
        .comprehensionMaxIterations(COMPREHENSION_ITERATIONS_MAX)
        .maxRegexProgramSize(REGEX_PROGRAM_SIZE_MAX)
        .build();
    CelCompilerBuilder compilerBuilder = CelCompilerFactory.standardCelCompilerBuilder()
        .setOptions(options)
        .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
        .setResultType(SimpleType.BOOL);
    for (Map.Entry<String, dev.cel.common.types.CelType> v : Attributes.VARIABLES.entrySet()) {
      compilerBuilder.addVar(v.getKey(), v.getValue());
    }
    this.compiler = compilerBuilder.build();
    // The standard functions, except that matches() comes from Patterns, which compiles each
    // pattern once instead of on every call.
    this.runtime = CelRuntimeFactory.standardCelRuntimeBuilder()
        .setOptions(options)
        .setStandardEnvironmentEnabled(false)
        .setStandardFunctions(CelStandardFunctions.newBuilder()
            .excludeFunctions(CelStandardFunctions.StandardFunction.MATCHES).build())
        .addFunctionBindings(new Patterns(options).bindings())
        .build();
    this.programs = CacheBuilder.newBuilder().maximumSize(cacheSizeMax).build();
  }

  /** The version of an expression: the first 16 hex digits of its SHA-256. */
  public static String version(String expression) {
    return Hashing.sha256().hashString(expression, StandardCharsets.UTF_8).toString().substring(0, 16);
  }

  /**
   * Parses, type-checks and costs an expression. Throws INVALID_EXPRESSION with CEL's message and
   * the position of the first problem, or EXPRESSION_TOO_COSTLY.
   */
  public Checked check(String expression) {
    CelAbstractSyntaxTree ast;
    try {
      ast = compiler.compile(expression).getAst();
    } catch (CelValidationException e) {
      CelIssue first = e.getErrors().get(0);
      int line = first.getSourceLocation().getLine();
      int column = first.getSourceLocation().getColumn() + 1;
      throw new Rejection(ErrorReason.INVALID_EXPRESSION, "expression: " + e.getMessage(), Map.of(
          "field", "expression", "line", Integer.toString(line), "column", Integer.toString(column)));
    }
    checkPatterns(ast.getExpr(), ast);
    long cost = this.cost.of(ast.getExpr());
    if (cost > costMax) {
      throw new Rejection(ErrorReason.EXPRESSION_TOO_COSTLY, "expression: estimated cost " + cost
          + " exceeds the limit " + costMax + "; avoid comprehensions over large literals, nested comprehensions, "
          + "and regular expressions inside them",
          Map.of("field", "expression", "cost", Long.toString(cost), "cost_max", Long.toString(costMax)));
    }
    return new Checked(version(expression), cost, ast);
  }

  /** The runnable rule for a stored version, compiled on first use and cached. */
  public CompiledRule compiled(String ruleId, String expression, Action action) {
    String key = ruleId + "\n" + version(expression) + "\n" + action.getNumber();
    try {
      return programs.get(key, () -> {
        Checked checked = check(expression);
        return new CompiledRule(ruleId, checked.version(), action, runtime.createProgram(checked.ast()),
            RuleCost.open(checked.ast().getExpr()) ? budgetNanos : 0);
      });
    } catch (ExecutionException e) {
      throw new IllegalStateException("stored rule " + ruleId + " no longer compiles", e.getCause());
    }
  }

  /** Constant patterns given to matches() are compiled now, so a bad one is refused at creation. */
  private static void checkPatterns(CelExpr e, CelAbstractSyntaxTree ast) {
    if (e.exprKind().getKind() == CelExpr.ExprKind.Kind.CALL && e.call().function().equals("matches")) {
      for (CelExpr arg : e.call().args()) {
        if (arg.exprKind().getKind() == CelExpr.ExprKind.Kind.CONSTANT
            && arg.constant().getKind() == CelConstant.Kind.STRING_VALUE) {
          try {
            Pattern.compile(arg.constant().stringValue());
          } catch (PatternSyntaxException ex) {
            var at = ast.getSource().getOffsetLocation(ast.getSource().getPositionsMap().getOrDefault(arg.id(), 0));
            throw new Rejection(ErrorReason.INVALID_EXPRESSION, "expression: invalid regular expression: "
                + ex.getDescription(), Map.of("field", "expression",
                "line", Integer.toString(at.map(l -> l.getLine()).orElse(1)),
                "column", Integer.toString(at.map(l -> l.getColumn() + 1).orElse(1))));
          }
        }
      }
    }
    for (CelExpr child : RuleCost.children(e)) {
      checkPatterns(child, ast);
    }
  }
}
