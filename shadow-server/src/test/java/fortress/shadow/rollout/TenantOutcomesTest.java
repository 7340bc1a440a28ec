package fortress.shadow.rollout;

import static fortress.core.rpc.TestCalls.await;
import static fortress.shadow.TestShadow.id;
import static fortress.shadow.TestShadow.ref;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.shadow.TestShadow;
import fortress.shadow.v1.*;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A rollout covers every tenant, so no one tenant's self-reported outcomes may decide it: each
 * tenant's outcomes count for at most a share of an arm's evidence, and the stage steps by itself
 * only when leaving out any one tenant's outcomes would not change the step.
 */
class TenantOutcomesTest {
  private static final List<String> HONEST = List.of("acme", "globex", "initech", "umbrella");

  private TestShadow shadow;

  @BeforeEach
  void start() {
    shadow = TestShadow.withTokens();
  }

  @AfterEach
  void stop() {
    shadow.close();
  }

  private static RequestAttributes request(String ip, String path) {
    return RequestAttributes.newBuilder().setIp(ip).setPath(path).setMethod("GET").build();
  }

  /** A rollout at 50% of a rule that passed an evaluation; stages are judged from 50 outcomes an arm. */
  private Rollout rollout() {
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      boolean malicious = i % 2 == 0;
      samples.add(Sample.newBuilder().setLabel(malicious ? Label.LABEL_MALICIOUS : Label.LABEL_BENIGN)
          .setAttributes(request("10.0.0." + (i % 200), malicious ? "/admin" : "/home")).build());
    }
    shadow.record("labelled", samples);
    Rule rule = shadow.createRule("scan", "path == '/admin'", Action.ACTION_CHALLENGE);
    Evaluation e = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("labelled")
        .setChallenger(ref(rule)));
    assertThat(e.getResult().getVerdict()).as("%s", e.getResult().getReasonsList()).isEqualTo(Verdict.VERDICT_PASS);
    return shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id()).setRule(ref(rule))
        .addAllStages(List.of(50, 100)).setThresholds(RolloutThresholds.newBuilder().setStageOutcomesMin(50))
        .build()).getRollout();
  }

  /** A tenant's gateway decides {@code n} requests and reports each, an error wherever the challenger decided. */
  private void report(String tenant, int n, boolean challengerErrors) {
    ShadowServiceGrpc.ShadowServiceBlockingStub gateway = shadow.as("gateway", tenant, "shadow.decide");
    for (int i = 0; i < n; i++) {
      DecideResponse d = gateway.decide(DecideRequest.newBuilder().setRequestKey(tenant + "-" + i)
          .setAttributes(request("198.51.100.1", "/x")).build());
      gateway.reportOutcome(ReportOutcomeRequest.newBuilder().setRequestId(id()).setDecisionId(d.getDecisionId())
          .setLabel(Label.LABEL_BENIGN).setLatencyMs(5)
          .setError(challengerErrors && d.getArm() == Arm.ARM_CHALLENGER).build());
    }
  }

  private Rollout get(Rollout r) {
    return shadow.stub.getRollout(GetRolloutRequest.newBuilder().setRolloutId(r.getRolloutId()).build())
        .getRollout();
  }

  /** Waits until the stage has stepped or its reasons contain {@code waitingFor}. */
  private Rollout judged(Rollout r, String waitingFor) {
    Rollout[] last = new Rollout[1];
    await(() -> {
      last[0] = get(r);
      return last[0].getState() != RolloutState.ROLLOUT_STATE_RUNNING || last[0].getHistoryCount() > 1
          || last[0].getHistory(0).getReasonsList().stream().anyMatch(s -> s.contains(waitingFor));
    }, Duration.ofSeconds(20));
    return last[0];
  }

  @Test
  void oneTenantAlone_reportingErrorsOnTheChallenger_cannotRollBackTheRollout() {
    Rollout r = rollout();
    report("evil", 600, true);

    Rollout after = judged(r, "tenants");
    assertThat(after.getState()).as("%s", after.getHistoryList()).isEqualTo(RolloutState.ROLLOUT_STATE_RUNNING);
    Stage stage = after.getHistory(0);
    assertThat(stage.getChallenger().getOutcomesReported()).isGreaterThan(200);
    assertThat(stage.getChallenger().getTenants()).isEqualTo(1);
    assertThat(stage.getChallenger().getOutcomes()).as("counted outcomes").isZero();
    assertThat(stage.getReasonsList()).anyMatch(s -> s.contains("tenants"));
  }

  @Test
  void oneTenantAmongHonestOnes_reportingErrorsOnTheChallenger_onlyHoldsTheStage_andIsNamed() {
    Rollout r = rollout();
    report("evil", 600, true);
    for (String tenant : HONEST) {
      report(tenant, 150, false);
    }

    Rollout after = judged(r, "evil");
    assertThat(after.getState()).as("%s", after.getHistoryList()).isNotEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
    assertThat(after.getHistory(0).getOutcome()).isNotEqualTo(StageOutcome.STAGE_OUTCOME_ROLLED_BACK);
    assertThat(after.getHistory(0).getChallenger().getTenants()).isEqualTo(5);
    if (after.getHistoryCount() == 1) {
      assertThat(after.getHistory(0).getReasonsList()).anyMatch(s -> s.contains("evil"));
    }
  }

  @Test
  void errorsReportedByEnoughTenants_rollTheRolloutBack() {
    Rollout r = rollout();
    for (String tenant : HONEST) {
      report(tenant, 150, true);
    }

    Rollout after = judged(r, "never-waits");
    assertThat(after.getState()).as("%s", after.getHistoryList()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
    assertThat(after.getHistory(0).getReasonsList()).anyMatch(s -> s.contains("error rate"));
    assertThat(after.getHistory(0).getChallenger().getTenants()).isEqualTo(4);
  }
}
