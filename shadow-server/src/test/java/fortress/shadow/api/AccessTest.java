package fortress.shadow.api;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static fortress.shadow.TestShadow.id;
import static fortress.shadow.TestShadow.ref;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.hash.Hashing;
import fortress.shadow.TestShadow;
import fortress.shadow.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who may do what on a shadow server that verifies tokens: a role per kind of work, decisions bound
 * to the caller (subject and tenant) that received them, a canary split the caller cannot steer,
 * and decoy exports kept out of evaluations unless asked for.
 */
class AccessTest {
  private TestShadow shadow;

  @BeforeEach
  void start() {
    shadow = TestShadow.withTokens();
  }

  @AfterEach
  void stop() {
    shadow.close();
  }

  private static RequestAttributes request(String ip, String tenant) {
    return RequestAttributes.newBuilder().setIp(ip).setPath("/admin").setTenant(tenant).setMethod("GET").build();
  }

  private static List<Sample> samples(String maliciousTenant, int each) {
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < each; i++) {
      out.add(Sample.newBuilder().setLabel(Label.LABEL_MALICIOUS)
          .setAttributes(request("203.0.113." + (i % 250), maliciousTenant)).build());
      out.add(Sample.newBuilder().setLabel(Label.LABEL_BENIGN)
          .setAttributes(request("198.51.100." + (i % 250), "other")).build());
    }
    return out;
  }

  /** A rule that denies requests to {@code tenant}, with a PASS over a dataset that says so. */
  private Rule passedRule(String ruleId, String tenant) {
    shadow.record("labelled-" + ruleId, samples(tenant, 100));
    Rule rule = shadow.createRule(ruleId, "tenant == '" + tenant + "'", Action.ACTION_DENY);
    Evaluation e = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("labelled-" + ruleId)
        .setChallenger(ref(rule)));
    assertThat(e.getResult().getVerdict()).as("%s", e.getResult().getReasonsList()).isEqualTo(Verdict.VERDICT_PASS);
    return rule;
  }

  private static void roleRequired(String role, Runnable call) {
    StatusRuntimeException e = refused(call);
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(info(e).getReason()).isEqualTo("ROLE_REQUIRED");
    assertThat(info(e).getMetadataMap()).containsEntry("role", role);
  }

  @Test
  void eachKindOfWork_needsItsRole_checkedBeforeTheRequestIsValidated() {
    Rule rule = shadow.createRule("scan", "path == '/admin'", Action.ACTION_DENY);
    for (ShadowServiceGrpc.ShadowServiceBlockingStub other : List.of(shadow.as("someone", "acme"),
        shadow.as("decoy", null, "decoy"), shadow.as("decider", "acme", "shadow.decide"))) {
      // Empty requests: a caller without the role learns that, not which fields are wrong.
      roleRequired("shadow.rules.read", () -> other.getRule(GetRuleRequest.getDefaultInstance()));
      roleRequired("shadow.rules.read", () -> other.listRules(ListRulesRequest.getDefaultInstance()));
      roleRequired("shadow.evaluate", () -> other.startEvaluation(StartEvaluationRequest.getDefaultInstance()));
      roleRequired("shadow.evaluate", () -> other.getEvaluation(GetEvaluationRequest.getDefaultInstance()));
    }
    ShadowServiceGrpc.ShadowServiceBlockingStub nobody = shadow.as("someone", "acme");
    roleRequired("shadow.record", () -> nobody.recordSamples(RecordSamplesRequest.getDefaultInstance()));
    roleRequired("shadow.decide", () -> nobody.decide(DecideRequest.getDefaultInstance()));
    roleRequired("shadow.decide", () -> nobody.reportOutcome(ReportOutcomeRequest.getDefaultInstance()));

    assertThat(shadow.as("reader", null, "shadow.rules.read").getRule(GetRuleRequest.newBuilder()
        .setRuleId("scan").build()).getRule().getExpression()).isEqualTo(rule.getExpression());
    assertThat(shadow.as("reader", null, "shadow.rules.read").listRules(ListRulesRequest.getDefaultInstance())
        .getRulesCount()).isEqualTo(1);
    assertThat(shadow.as("recorder", null, "shadow.record").recordSamples(RecordSamplesRequest.newBuilder()
        .setRequestId(id()).setDataset("recorded").addAllSamples(samples("acme", 1)).build()).getRecordedCount())
        .isEqualTo(2);
    assertThat(shadow.as("evaluator", null, "shadow.evaluate").startEvaluation(StartEvaluationRequest.newBuilder()
        .setRequestId(id()).setDataset("recorded").setChallenger(ref(rule)).build()).getEvaluation()
        .getEvaluationId()).startsWith("ev-");
    assertThat(shadow.as("gateway", "acme", "shadow.decide").decide(DecideRequest.newBuilder()
        .setAttributes(request("203.0.113.1", "")).build()).getAction()).isEqualTo(Action.ACTION_ALLOW);
  }

  @Test
  void anOutcome_isTakenOnlyFromTheCallerThatGotTheDecision_andAnyoneElseLearnsNothing() {
    ShadowServiceGrpc.ShadowServiceBlockingStub gateway = shadow.as("gateway", "acme", "shadow.decide");
    String decision = gateway.decide(DecideRequest.newBuilder().setAttributes(request("203.0.113.1", ""))
        .build()).getDecisionId();
    StatusRuntimeException unknown = refused(() -> gateway.reportOutcome(ReportOutcomeRequest.newBuilder()
        .setRequestId(id()).setDecisionId("d.0.0.000.0123456789abcdef.0123456789abcdef").build()));
    assertThat(info(unknown).getReason()).isEqualTo("DECISION_NOT_FOUND");
    for (ShadowServiceGrpc.ShadowServiceBlockingStub stranger : List.of(
        shadow.as("gateway", "globex", "shadow.decide"), shadow.as("mallory", "acme", "shadow.decide"),
        shadow.as("gateway", null, "shadow.decide", "admin"))) {
      StatusRuntimeException e = refused(() -> stranger.reportOutcome(ReportOutcomeRequest.newBuilder()
          .setRequestId(id()).setDecisionId(decision).setLabel(Label.LABEL_MALICIOUS).build()));
      assertThat(e.getStatus().getCode()).isEqualTo(unknown.getStatus().getCode());
      assertThat(e.getStatus().getDescription()).isEqualTo(unknown.getStatus().getDescription());
      assertThat(info(e)).isEqualTo(info(unknown));
    }
    assertThat(gateway.reportOutcome(ReportOutcomeRequest.newBuilder().setRequestId(id()).setDecisionId(decision)
        .setLabel(Label.LABEL_MALICIOUS).build()).getCounted()).isFalse();
  }

  @Test
  void decide_isScopedToTheCallersTenant_andRulesSeeThatTenant() {
    Rule rule = passedRule("acme-only", "acme");
    shadow.stub.deployRule(DeployRuleRequest.newBuilder().setRequestId(id()).setRule(ref(rule)).build());
    ShadowServiceGrpc.ShadowServiceBlockingStub acme = shadow.as("gateway", "acme", "shadow.decide");
    ShadowServiceGrpc.ShadowServiceBlockingStub globex = shadow.as("gateway", "globex", "shadow.decide");

    assertThat(acme.decide(DecideRequest.newBuilder().setAttributes(request("203.0.113.1", "")).build())
        .getAction()).as("the rule sees the caller's tenant").isEqualTo(Action.ACTION_DENY);
    assertThat(acme.decide(DecideRequest.newBuilder().setAttributes(request("203.0.113.1", "acme")).build())
        .getAction()).isEqualTo(Action.ACTION_DENY);
    assertThat(globex.decide(DecideRequest.newBuilder().setAttributes(request("203.0.113.1", "")).build())
        .getAction()).isEqualTo(Action.ACTION_ALLOW);
    StatusRuntimeException other = refused(() -> globex.decide(DecideRequest.newBuilder()
        .setAttributes(request("203.0.113.1", "acme")).build()));
    assertThat(other.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(info(other).getReason()).isEqualTo("TENANT_FORBIDDEN");
    assertThat(info(other).getMetadataMap()).containsEntry("field", "attributes.tenant");
    StatusRuntimeException none = refused(() -> shadow.as("gateway", null, "shadow.decide").decide(
        DecideRequest.newBuilder().setAttributes(request("203.0.113.1", "acme")).build()));
    assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(info(none).getReason()).isEqualTo("TENANT_REQUIRED");
  }

  /** The split murmur3(rollout, request_key) that anyone could compute, as the server once used. */
  private static boolean publicHashSaysChallenger(long rolloutId, String key, int percent) {
    int hash = Hashing.murmur3_32_fixed().newHasher().putLong(rolloutId).putString(key, StandardCharsets.UTF_8)
        .hash().asInt();
    return Math.floorMod(hash, 10_000) < percent * 100;
  }

  @Test
  void theCanaryArm_cannotBeChosenThroughTheRequestKey() {
    Rule rule = passedRule("canary", "acme");
    Rollout rollout = shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id()).setRule(ref(rule))
        .addAllStages(List.of(50, 100)).setThresholds(RolloutThresholds.newBuilder().setStageOutcomesMin(1_000_000)
            .setStageOutcomesMax(1_000_000)).build()).getRollout();
    long rolloutId = Long.parseLong(rollout.getRolloutId().substring("ro-".length()));
    ShadowServiceGrpc.ShadowServiceBlockingStub gateway = shadow.as("gateway", "acme", "shadow.decide");
    int challenger = 0;
    int champion = 0;
    int tried = 0;
    for (int i = 0; challenger + champion < 200; i++) {
      String key = "chosen-" + i;
      if (!publicHashSaysChallenger(rolloutId, key, 50)) {
        continue;
      }
      tried++;
      Arm arm = gateway.decide(DecideRequest.newBuilder().setRequestKey(key)
          .setAttributes(request("203.0.113.1", "")).build()).getArm();
      challenger += arm == Arm.ARM_CHALLENGER ? 1 : 0;
      champion += arm == Arm.ARM_CHAMPION ? 1 : 0;
      if (tried > 400) {
        break;
      }
    }
    // 200 keys picked to land on the challenger land on either arm about half the time.
    assertThat(challenger).as("challenger arms").isBetween(60, 140);
    assertThat(champion).as("champion arms").isBetween(60, 140);
    // The split stays deterministic for one key.
    Arm first = gateway.decide(DecideRequest.newBuilder().setRequestKey("session-1")
        .setAttributes(request("203.0.113.1", "")).build()).getArm();
    for (int i = 0; i < 5; i++) {
      assertThat(gateway.decide(DecideRequest.newBuilder().setRequestKey("session-1")
          .setAttributes(request("203.0.113.2", "")).build()).getArm()).isEqualTo(first);
    }
  }

  @Test
  void decoyExports_landInAnAttackerSuppliedDataset_thatEvaluationRefusesUnlessAskedFor() {
    Rule rule = shadow.createRule("scan", "path == '/admin'", Action.ACTION_DENY);
    ShadowServiceGrpc.ShadowServiceBlockingStub decoy = shadow.as("decoy", null, "decoy");
    ShadowServiceGrpc.ShadowServiceBlockingStub recorder = shadow.as("recorder", null, "shadow.record");
    ShadowServiceGrpc.ShadowServiceBlockingStub evaluator = shadow.as("evaluator", null, "shadow.evaluate");
    RecordSamplesResponse exported = decoy.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id())
        .setDataset("from-decoy").addAllSamples(samples("acme", 100)).build());
    assertThat(exported.getDatasetSampleCount()).isEqualTo(200);
    assertThat(exported.getAttackerSupplied()).isTrue();
    Consumer<String> refusedFor = dataset -> {
      StatusRuntimeException e = refused(() -> evaluator.startEvaluation(StartEvaluationRequest.newBuilder()
          .setRequestId(id()).setDataset(dataset).setChallenger(ref(rule)).build()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(info(e).getReason()).isEqualTo("DATASET_ATTACKER_SUPPLIED");
      assertThat(info(e).getMetadataMap()).containsEntry("dataset", dataset);
    };
    refusedFor.accept("from-decoy");
    Evaluation chosen = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("from-decoy")
        .setChallenger(ref(rule)).setAllowAttackerSupplied(true));
    assertThat(chosen.getState()).isEqualTo(EvaluationState.EVALUATION_STATE_SUCCEEDED);
    assertThat(chosen.getAttackerSupplied()).isTrue();

    RecordSamplesResponse recorded = recorder.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id())
        .setDataset("clean").addAllSamples(samples("acme", 100)).build());
    assertThat(recorded.getAttackerSupplied()).isFalse();
    Evaluation clean = evaluator.startEvaluation(StartEvaluationRequest.newBuilder().setRequestId(id())
        .setDataset("clean").setChallenger(ref(rule)).build()).getEvaluation();
    assertThat(clean.getAttackerSupplied()).isFalse();
    // The decoy cannot taint (or poison) a dataset someone else created.
    StatusRuntimeException tainting = refused(() -> decoy.recordSamples(RecordSamplesRequest.newBuilder()
        .setRequestId(id()).setDataset("clean").addAllSamples(samples("acme", 1)).build()));
    assertThat(tainting.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(tainting).getReason()).isEqualTo("DATASET_NOT_ATTACKER_SUPPLIED");
    assertThat(info(tainting).getMetadataMap()).containsEntry("dataset", "clean");
    Dataset untouched = evaluator.getDataset(GetDatasetRequest.newBuilder().setDataset("clean").build()).getDataset();
    assertThat(untouched.getAttackerSupplied()).isFalse();
    assertThat(untouched.getSampleCount()).isEqualTo(200);
    // Its own dataset stays open to it, and to a recorder only when asked for.
    assertThat(decoy.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id()).setDataset("from-decoy")
        .addAllSamples(samples("acme", 1)).build()).getDatasetSampleCount()).isEqualTo(202);
    StatusRuntimeException mixing = refused(() -> recorder.recordSamples(RecordSamplesRequest.newBuilder()
        .setRequestId(id()).setDataset("from-decoy").addAllSamples(samples("acme", 1)).build()));
    assertThat(mixing.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(mixing).getReason()).isEqualTo("DATASET_ATTACKER_SUPPLIED");
    assertThat(info(mixing).getMetadataMap()).containsEntry("dataset", "from-decoy");
    RecordSamplesResponse asked = recorder.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id())
        .setDataset("from-decoy").addAllSamples(samples("acme", 1)).setAllowAttackerSupplied(true).build());
    assertThat(asked.getDatasetSampleCount()).isEqualTo(204);
    assertThat(asked.getAttackerSupplied()).isTrue();
    // Asking does not let the decoy into a clean dataset.
    assertThat(info(refused(() -> decoy.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id())
        .setDataset("clean").addAllSamples(samples("acme", 1)).setAllowAttackerSupplied(true).build())))
        .getReason()).isEqualTo("DATASET_NOT_ATTACKER_SUPPLIED");
    refusedFor.accept("from-decoy");
    roleRequired("shadow.evaluate", () -> decoy.getDataset(GetDatasetRequest.newBuilder().setDataset("clean")
        .build()));
  }

  @Test
  void theDecoy_cannotRecordIntoAnOperatorsCleanDataset() {
    ShadowServiceGrpc.ShadowServiceBlockingStub decoy = shadow.as("decoy", null, "decoy");
    shadow.record("operators", samples("acme", 50));
    StatusRuntimeException e = refused(() -> decoy.recordSamples(RecordSamplesRequest.newBuilder()
        .setRequestId(id()).setDataset("operators").addAllSamples(samples("acme", 1)).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(e).getReason()).isEqualTo("DATASET_NOT_ATTACKER_SUPPLIED");
    Dataset after = shadow.stub.getDataset(GetDatasetRequest.newBuilder().setDataset("operators").build())
        .getDataset();
    assertThat(after.getAttackerSupplied()).isFalse();
    assertThat(after.getSampleCount()).isEqualTo(100);
  }

  @Test
  void requestIds_belongToTheirCaller_soNoCallerReplaysOrBlocksAnothersId() {
    ShadowServiceGrpc.ShadowServiceBlockingStub first = shadow.as("recorder-1", null, "shadow.record");
    ShadowServiceGrpc.ShadowServiceBlockingStub second = shadow.as("recorder-2", null, "shadow.record");
    ShadowServiceGrpc.ShadowServiceBlockingStub decoy = shadow.as("decoy", null, "decoy");
    RecordSamplesRequest request = RecordSamplesRequest.newBuilder().setRequestId(id()).setDataset("shared")
        .addAllSamples(samples("acme", 1)).build();
    assertThat(first.recordSamples(request).getDatasetSampleCount()).isEqualTo(2);
    // The same id and body from another caller is that caller's own request: it runs.
    assertThat(second.recordSamples(request).getDatasetSampleCount()).isEqualTo(4);
    // Each caller's retry answers from its own record.
    assertThat(first.recordSamples(request).getDatasetSampleCount()).isEqualTo(2);
    assertThat(second.recordSamples(request).getDatasetSampleCount()).isEqualTo(4);
    // A reuse is the same caller's id with another body.
    StatusRuntimeException reused = refused(() -> second.recordSamples(request.toBuilder().setDataset("other")
        .build()));
    assertThat(info(reused).getReason()).isEqualTo("REQUEST_ID_REUSED");

    // An id the decoy used first neither answers nor blocks the operator's request.
    String taken = id();
    decoy.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(taken).setDataset("decoyed")
        .addAllSamples(samples("acme", 1)).build());
    CreateRuleResponse created = shadow.stub.createRule(CreateRuleRequest.newBuilder().setRequestId(taken)
        .setRuleId("scan").setExpression("path == '/admin'").setAction(Action.ACTION_DENY).build());
    assertThat(created.getCreated()).isTrue();
    // And the operator's id is not the decoy's: replaying the operator's request gets the decoy nothing of it.
    String operators = id();
    RecordSamplesRequest clean = RecordSamplesRequest.newBuilder().setRequestId(operators).setDataset("clean")
        .addAllSamples(samples("acme", 1)).build();
    assertThat(shadow.stub.recordSamples(clean).getAttackerSupplied()).isFalse();
    StatusRuntimeException replay = refused(() -> decoy.recordSamples(clean));
    assertThat(info(replay).getReason()).isEqualTo("DATASET_NOT_ATTACKER_SUPPLIED");
  }
}
