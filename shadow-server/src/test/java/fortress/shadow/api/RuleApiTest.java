package fortress.shadow.api;

import static fortress.shadow.TestShadow.id;
import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.rpc.ErrorInfo;
import fortress.core.rpc.Reflection;
import fortress.shadow.TestShadow;
import fortress.shadow.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RuleApiTest {
  private static TestShadow shadow;

  @BeforeAll
  static void start() {
    shadow = new TestShadow();
  }

  @AfterAll
  static void stop() {
    shadow.close();
  }

  private static CreateRuleRequest.Builder rule(String expression) {
    return CreateRuleRequest.newBuilder().setRequestId(id()).setRuleId("admin-scan").setExpression(expression)
        .setAction(Action.ACTION_DENY);
  }

  @Test
  void createRule_versionIsTheExpressionHash_andTheSameExpressionIsTheSameVersion() {
    CreateRuleResponse first = shadow.stub.createRule(rule("path.startsWith('/admin') && requests_per_minute > 100")
        .build());
    assertThat(first.getCreated()).isTrue();
    assertThat(first.getRule().getVersion()).hasSize(16).matches("[0-9a-f]+");
    assertThat(first.getRule().getCost()).isPositive();
    CreateRuleResponse again = shadow.stub.createRule(rule("path.startsWith('/admin') && requests_per_minute > 100")
        .build());
    assertThat(again.getCreated()).isFalse();
    assertThat(again.getRule().getVersion()).isEqualTo(first.getRule().getVersion());
    Rule newer = shadow.stub.createRule(rule("path.startsWith('/admin') && requests_per_minute > 50").build()).getRule();
    assertThat(newer.getVersion()).isNotEqualTo(first.getRule().getVersion());
    assertThat(shadow.stub.getRule(GetRuleRequest.newBuilder().setRuleId("admin-scan").build()).getRule().getVersion())
        .isEqualTo(newer.getVersion());
    assertThat(shadow.stub.getRule(GetRuleRequest.newBuilder().setRuleId("admin-scan")
        .setVersion(first.getRule().getVersion()).build()).getRule().getExpression()).contains("> 100");
  }

  @Test
  void createRule_withTheSameRequestId_replays_andWithAnotherBody_isRequestIdReused() {
    CreateRuleRequest request = CreateRuleRequest.newBuilder().setRequestId(id()).setRuleId("replayed")
        .setExpression("country == 'XX'").setAction(Action.ACTION_CHALLENGE).build();
    CreateRuleResponse first = shadow.stub.createRule(request);
    assertThat(shadow.stub.createRule(request)).isEqualTo(first);
    StatusRuntimeException e = refused(() -> shadow.stub.createRule(request.toBuilder().setExpression("true").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(info(e).getReason()).isEqualTo("REQUEST_ID_REUSED");
  }

  /** grpcurl knows only what reflection tells it; that is enough to print a refusal's details. */
  @Test
  void aRefusalsDetails_areReadableThroughReflectionAlone() throws Exception {
    StatusRuntimeException e = refused(() -> shadow.stub.createRule(rule("pth == '/x'").setRuleId("bad-cel").build()));
    assertThat(Reflection.details(shadow.stub.getChannel(), e))
        .anySatisfy(d -> assertThat(d).contains("\"reason\": \"INVALID_EXPRESSION\"",
            "\"domain\": \"shadow.fortress.dev\""))
        .anySatisfy(d -> assertThat(d).contains("google.rpc.BadRequest", "\"field\": \"expression\""));
  }

  @Test
  void badCel_isInvalidExpression_withCelsMessageAndPosition_andStoresNothing() {
    StatusRuntimeException e = refused(() -> shadow.stub.createRule(rule("requests_per_minute > 100 && pth == '/x'")
        .setRuleId("bad-cel").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(info(e).getReason()).isEqualTo("INVALID_EXPRESSION");
    assertThat(info(e).getMetadataMap()).containsEntry("line", "1").containsEntry("column", "30")
        .containsEntry("field", "expression");
    assertThat(e.getStatus().getDescription()).contains("undeclared reference to 'pth'");

    StatusRuntimeException notBool = refused(() -> shadow.stub.createRule(rule("bytes + 1").setRuleId("bad-cel").build()));
    assertThat(notBool.getStatus().getDescription()).contains("expected type 'bool' but found 'int'");
    StatusRuntimeException regex = refused(() -> shadow.stub.createRule(rule("path.matches('[a-')")
        .setRuleId("bad-cel").build()));
    assertThat(info(regex).getReason()).isEqualTo("INVALID_EXPRESSION");
    assertThat(regex.getStatus().getDescription()).contains("invalid regular expression");

    StatusRuntimeException missing = refused(() -> shadow.stub.getRule(GetRuleRequest.newBuilder()
        .setRuleId("bad-cel").build()));
    assertThat(info(missing).getReason()).isEqualTo("RULE_NOT_FOUND");
  }

  @Test
  void expensiveExpression_isRefusedByTheCostLimit() {
    StatusRuntimeException e = refused(() -> shadow.stub.createRule(rule(
        "headers.exists(k, headers.exists(j, headers.exists(i, headers[i].matches(k + j))))")
        .setRuleId("costly").build()));
    assertThat(info(e).getReason()).isEqualTo("EXPRESSION_TOO_COSTLY");
    assertThat(info(e).getMetadataMap()).containsKey("cost").containsEntry("cost_max", "10000");
  }

  @Test
  void everyBadField_isInvalidArgumentNamingIt() {
    expectField("request_id", b -> b.setRequestId(""));
    expectField("request_id", b -> b.setRequestId("has space"));
    expectField("rule_id", b -> b.setRuleId("Upper"));
    expectField("rule_id", b -> b.setRuleId("x".repeat(65)));
    expectField("expression", b -> b.setExpression(" "));
    expectField("expression", b -> b.setExpression("true || ".repeat(600) + "true"));
    expectField("action", b -> b.setAction(Action.ACTION_UNSPECIFIED));
    expectField("action", b -> b.setActionValue(99));
    expectField("description", b -> b.setDescription("d".repeat(1025)));
    expectField("description", b -> b.setDescription("a\u0000b"));
    StatusRuntimeException page = refused(() -> shadow.stub.listRules(ListRulesRequest.newBuilder().setPageSize(-1)
        .build()));
    assertThat(info(page).getMetadataMap()).containsEntry("field", "page_size");
    StatusRuntimeException token = refused(() -> shadow.stub.listRules(ListRulesRequest.newBuilder()
        .setPageToken("%%%").build()));
    assertThat(info(token).getMetadataMap()).containsEntry("field", "page_token");
  }

  private static void expectField(String field, Consumer<CreateRuleRequest.Builder> breakIt) {
    CreateRuleRequest.Builder b = rule("true").setRuleId("fields");
    breakIt.accept(b);
    StatusRuntimeException e = refused(() -> shadow.stub.createRule(b.build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(info(e).getMetadataMap()).as("field of %s", e.getStatus()).containsEntry("field", field);
    assertThat(shadow.stub.listRules(ListRulesRequest.newBuilder().setRuleId("fields").build()).getRulesCount())
        .isZero();
  }

  @Test
  void listRules_pagesThroughEveryVersion() {
    for (int i = 0; i < 5; i++) {
      shadow.createRule("paged", "bytes > " + i, Action.ACTION_DENY);
    }
    ListRulesResponse first = shadow.stub.listRules(ListRulesRequest.newBuilder().setRuleId("paged").setPageSize(2)
        .build());
    assertThat(first.getRulesCount()).isEqualTo(2);
    ListRulesResponse second = shadow.stub.listRules(ListRulesRequest.newBuilder().setRuleId("paged").setPageSize(2)
        .setPageToken(first.getNextPageToken()).build());
    ListRulesResponse third = shadow.stub.listRules(ListRulesRequest.newBuilder().setRuleId("paged").setPageSize(2)
        .setPageToken(second.getNextPageToken()).build());
    assertThat(third.getRulesCount()).isEqualTo(1);
    assertThat(third.getNextPageToken()).isEmpty();
    assertThat(java.util.stream.Stream.of(first, second, third).flatMap(r -> r.getRulesList().stream())
        .map(Rule::getExpression)).containsExactly("bytes > 0", "bytes > 1", "bytes > 2", "bytes > 3", "bytes > 4");
  }

  /**
   * A comprehension over a 1,000-element list literal, each step a regular expression. When every
   * comprehension counted as 64 elements, it was estimated at 5,612 and took about half a second
   * an evaluation.
   */
  @Test
  void aComprehensionOverALargeListLiteral_isCostedByTheLiteralsSize_andRefused() {
    String literal = IntStream.range(0, 1000).mapToObj(i -> Integer.toString(i % 10))
        .collect(Collectors.joining(",", "[", "]"));
    for (String expression : List.of(literal + ".exists(x, path.matches('(a|b|c|d)*(e|f)+z$'))",
        "[" + literal + "].exists(l, l.exists(x, l.exists(y, x == y + 10)))")) {
      StatusRuntimeException e = refused(() -> shadow.stub.createRule(rule(expression).setRuleId("literal").build()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(info(e).getReason()).isEqualTo("EXPRESSION_TOO_COSTLY");
      String cost = info(e).getMetadataMap().get("cost");
      assertThat(Long.parseLong(cost)).isGreaterThan(10_000);
      assertThat(e.getStatus().getDescription()).contains("estimated cost " + cost);
    }
    Rule small = shadow.createRule("literal", "['GET', 'HEAD'].exists(m, method == m)", Action.ACTION_DENY);
    assertThat(small.getCost()).isLessThan(100);
  }

  @Test
  void listRules_withAPageTokenItDidNotIssueForThatListing_isInvalidArgumentNamingPageToken() {
    for (int i = 0; i < 3; i++) {
      shadow.createRule("tokens", "bytes > " + i, Action.ACTION_DENY);
    }
    ListRulesRequest.Builder tokens = ListRulesRequest.newBuilder().setRuleId("tokens").setPageSize(1);
    String good = shadow.stub.listRules(tokens.build()).getNextPageToken();
    Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
    List<String> bad = List.of("%%%", "x", base64.encodeToString("garbage".getBytes(StandardCharsets.UTF_8)),
        base64.encodeToString(new byte[] {(byte) 0xff, 0, 1, 2, 3}),
        base64.encodeToString("tokens\nnot-a-time\n0123456789abcdef".getBytes(StandardCharsets.UTF_8)),
        base64.encodeToString("tokens\n2026-13-45 99:00:00+00\n0123456789abcdef".getBytes(StandardCharsets.UTF_8)),
        base64.encodeToString("tokens\n2020-01-01 00:00:00+00\n'; drop".getBytes(StandardCharsets.UTF_8)),
        good.substring(0, good.length() - 1), good + "A", "A" + good.substring(1));
    for (String token : bad) {
      expectPageToken(() -> shadow.stub.listRules(tokens.clone().setPageToken(token).build()), token);
    }
    expectPageToken(() -> shadow.stub.listRules(ListRulesRequest.newBuilder().setPageToken(good).build()), good);
    expectPageToken(() -> shadow.stub.listRules(ListRulesRequest.newBuilder().setRuleId("paged").setPageToken(good)
        .build()), good);
    expectPageToken(() -> shadow.stub.listDeployments(ListDeploymentsRequest.newBuilder().setPageToken(good)
        .build()), good);
    assertThat(shadow.stub.listRules(tokens.clone().setPageToken(good).build()).getRules(0).getExpression())
        .isEqualTo("bytes > 1");
  }

  private static void expectPageToken(Runnable call, String token) {
    StatusRuntimeException e = refused(call);
    assertThat(e.getStatus().getCode()).as("token %s: %s", token, e.getStatus())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(info(e).getMetadataMap()).containsEntry("field", "page_token");
  }
}
