package fortress.shadow.rule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.shadow.v1.Action;
import fortress.shadow.v1.RequestAttributes;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Running compiled rules, in particular matches(), which Fortress binds itself to compile each pattern once. */
class RuleCompilerTest {
  private final RuleCompiler compiler = new RuleCompiler(10_000, 16);

  private boolean matches(String expression, RequestAttributes request) throws CompiledRule.EvaluationError {
    return compiler.compiled("r", expression, Action.ACTION_DENY).matches(new Attributes(request));
  }

  private static RequestAttributes path(String path) {
    return RequestAttributes.newBuilder().setPath(path).putHeaders("x-pattern", "^/adm").build();
  }

  @Test
  void matches_findsThePatternAnywhere_asCelSpecifies_inBothCallForms() throws Exception {
    for (String rule : new String[] {"path.matches('wp-(login|admin)')", "matches(path, 'wp-(login|admin)')"}) {
      assertThat(matches(rule, path("/blog/wp-login.php"))).as(rule).isTrue();
      assertThat(matches(rule, path("/blog/index.php"))).as(rule).isFalse();
    }
    assertThat(matches("path.matches('^/admin$')", path("/admin"))).isTrue();
    assertThat(matches("path.matches('^/admin$')", path("/admin/users"))).isFalse();
  }

  @Test
  void matches_withPatternsBuiltFromTheRequest_givesEachRequestItsOwnPattern() throws Exception {
    String rule = "path.matches(headers['x-pattern'])";
    assertThat(matches(rule, path("/admin"))).isTrue();
    assertThat(matches(rule, path("/home"))).isFalse();
    RequestAttributes other = path("/home").toBuilder().putHeaders("x-pattern", "^/ho").build();
    assertThat(matches(rule, other)).isTrue();
  }

  @Test
  void aPatternFromTheRequest_thatIsInvalidOrTooLarge_failsThatEvaluationOnly() throws Exception {
    String rule = "path.matches(headers['x-pattern'])";
    RequestAttributes invalid = path("/admin").toBuilder().putHeaders("x-pattern", "[a-").build();
    assertThatThrownBy(() -> matches(rule, invalid)).isInstanceOf(CompiledRule.EvaluationError.class);
    RequestAttributes huge = path("/admin").toBuilder().putHeaders("x-pattern", "(a|b|c|d){1,500}").build();
    assertThatThrownBy(() -> matches(rule, huge)).isInstanceOf(CompiledRule.EvaluationError.class).rootCause()
        .hasMessageContaining("exceeds the limit");
    assertThat(matches(rule, path("/admin"))).isTrue();
  }

  @Test
  void matches_onAStringLongerThanTheRegexInputBound_failsThatEvaluation() throws Exception {
    String rule = "(path + path + path).matches('z$')";
    assertThatThrownBy(() -> matches(rule, path("a".repeat(2048)))).isInstanceOf(CompiledRule.EvaluationError.class)
        .rootCause().hasMessageContaining("characters");
    assertThat(matches(rule, path("/z"))).isTrue();
  }

  @Test
  void anEvaluationPastItsTimeBudget_stopsAsATimeout_andTheSameRuleWithRoomToRunMatches() throws Exception {
    String literal = IntStream.range(0, 1000).mapToObj(i -> Integer.toString(i % 10))
        .collect(Collectors.joining(",", "[", "]"));
    String expression = literal + ".all(x, !path.matches('(a|b|c|d)*(e|f)+z$'))";
    Attributes longPath = new Attributes(path("/a" + "a".repeat(2000)));
    CompiledRule tight = new RuleCompiler(10_000_000, 16, 5).compiled("slow", expression, Action.ACTION_DENY);
    CompiledRule.EvaluationError e = catchThrowableOfType(CompiledRule.EvaluationError.class,
        () -> tight.matches(longPath));
    assertThat(e).isNotNull();
    assertThat(e.timedOut()).isTrue();
    assertThat(e).hasMessageContaining("time budget of 5 ms");
    CompiledRule roomy = new RuleCompiler(10_000_000, 16, 60_000).compiled("slow", expression, Action.ACTION_DENY);
    assertThat(roomy.matches(longPath)).isTrue();
  }
}
