package fortress.shadow.rollout;

import fortress.core.rpc.TestCalls;
import static fortress.shadow.TestShadow.id;
import static fortress.shadow.TestShadow.ref;
import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.shadow.TestShadow;
import fortress.shadow.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The whole operator sequence over gRPC on real PostgreSQL: rules, a dataset, an evaluation, the
 * deploy gate, the audit chain, and canaries that promote, roll back or pause by themselves.
 *
 * <p>Traffic: MALICIOUS requests go to /admin with a high request rate, half of them from country
 * XX; BENIGN requests go to /home. The champion denies /admin from XX only (recall 0.5); the good
 * challenger denies every fast /admin request (recall 1); the bad challenger denies everything.
 */
class ShadowFlowTest {
  private static final String CHAMPION = "path == '/admin' && country == 'XX'";
  private static final String GOOD = "path == '/admin' && requests_per_minute > 100";
  /** Matches the dataset as well as GOOD, which holds only GETs; live, it denies every POST. */
  private static final String BAD = "path == '/admin' && requests_per_minute > 100 || method == 'POST'";

  private TestShadow shadow;

  @BeforeEach
  void start() {
    shadow = new TestShadow();
  }

  @AfterEach
  void stop() {
    shadow.close();
  }

  private static RequestAttributes request(SplittableRandom random, boolean malicious) {
    return request(random, malicious, "GET");
  }

  private static RequestAttributes request(SplittableRandom random, boolean malicious, String benignMethod) {
    return RequestAttributes.newBuilder()
        .setIp("10.0." + random.nextInt(256) + "." + random.nextInt(256))
        .setMethod(malicious ? "GET" : benignMethod)
        .setPath(malicious ? "/admin" : "/home")
        .setCountry(malicious && random.nextBoolean() ? "XX" : "DE")
        .setRequestsPerMinute(malicious ? 200 + random.nextInt(100) : random.nextInt(50))
        .putHeaders("accept", "*/*")
        .build();
  }

  private static List<Sample> samples(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      boolean malicious = i % 2 == 0;
      out.add(Sample.newBuilder().setAttributes(request(random, malicious))
          .setLabel(malicious ? Label.LABEL_MALICIOUS : Label.LABEL_BENIGN).build());
    }
    return out;
  }

  private Rule championDeployed() {
    Rule champion = shadow.createRule("admin", CHAMPION, Action.ACTION_DENY);
    Evaluation first = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("traffic")
        .setChallenger(ref(champion)));
    assertThat(first.getResult().getVerdict()).as("%s", first.getResult().getReasonsList())
        .isEqualTo(Verdict.VERDICT_PASS);
    shadow.stub.deployRule(DeployRuleRequest.newBuilder().setRequestId(id()).setRule(ref(champion)).build());
    return champion;
  }

  private Rule passedChallenger(String expression) {
    Rule challenger = shadow.createRule("admin", expression, Action.ACTION_DENY);
    Evaluation e = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("traffic")
        .setChallenger(ref(challenger)).setSettings(VerdictSettings.newBuilder().setLossTolerance(0.5)));
    assertThat(e.getResult().getVerdict()).as("%s", e.getResult().getReasonsList()).isEqualTo(Verdict.VERDICT_PASS);
    return challenger;
  }

  @Test
  void evaluation_reportsProgressAndNumbers_andIsReproducible_andTheGateNeedsAPass() {
    shadow.record("traffic", samples(2_000, 1));
    Rule champion = championDeployed();
    Rule good = shadow.createRule("admin", GOOD, Action.ACTION_DENY);

    StatusRuntimeException gate = refused(() -> shadow.stub.deployRule(DeployRuleRequest.newBuilder()
        .setRequestId(id()).setRule(ref(good)).build()));
    assertThat(gate.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(gate).getReason()).isEqualTo("SHADOW_EVALUATION_REQUIRED");
    StatusRuntimeException rolloutGate = refused(() -> shadow.stub.startRollout(StartRolloutRequest.newBuilder()
        .setRequestId(id()).setRule(ref(good)).build()));
    assertThat(info(rolloutGate).getReason()).isEqualTo("SHADOW_EVALUATION_REQUIRED");

    Evaluation few = shadow.evaluate(StartEvaluationRequest.newBuilder().setDataset("traffic")
        .setChallenger(ref(good)).setSampleLimit(100).setSeed(9));
    assertThat(few.getResult().getVerdict()).isEqualTo(Verdict.VERDICT_INCONCLUSIVE);
    assertThat(few.getResult().getReasons(0)).contains("MALICIOUS samples; at least 100 are needed");
    assertThat(info(refused(() -> shadow.stub.deployRule(DeployRuleRequest.newBuilder().setRequestId(id())
        .setRule(ref(good)).build()))).getReason()).isEqualTo("SHADOW_EVALUATION_REQUIRED");

    StartEvaluationRequest.Builder full = StartEvaluationRequest.newBuilder().setDataset("traffic")
        .setChallenger(ref(good)).setSeed(42);
    Evaluation pass = shadow.evaluate(full.clone());
    assertThat(pass.getState()).isEqualTo(EvaluationState.EVALUATION_STATE_SUCCEEDED);
    assertThat(pass.getChampion()).isEqualTo(ref(champion));
    assertThat(pass.getSamplesDone()).isEqualTo(2_000);
    assertThat(pass.getPrior().getAlpha()).isEqualTo(1);
    EvaluationResult r = pass.getResult();
    assertThat(r.getVerdict()).as("%s", r.getReasonsList()).isEqualTo(Verdict.VERDICT_PASS);
    assertThat(r.getChallengerMatrix().getTruePositives()).isEqualTo(1_000);
    assertThat(r.getChampionMatrix().getTruePositives()).isBetween(400L, 600L);
    assertThat(r.getRecall().getProbabilityChallengerBetter()).isGreaterThan(0.999);
    assertThat(r.getRecall().getMethod()).isEqualTo("exact");
    assertThat(r.getRecall().getChallenger().getLower()).isGreaterThan(0.99);
    assertThat(r.getFalsePositiveRate().getExpectedLossChallenger()).isLessThan(0.005);
    Evaluation replay = shadow.evaluate(full.clone());
    assertThat(replay.getResult()).isEqualTo(r);

    Deployment deployed = shadow.stub.deployRule(DeployRuleRequest.newBuilder().setRequestId(id())
        .setRule(ref(good)).setReason("catches every fast admin scan").build()).getDeployment();
    assertThat(deployed.getKind()).isEqualTo(DeploymentKind.DEPLOYMENT_KIND_DEPLOYED);
    assertThat(deployed.getPreviousVersion()).isEqualTo(champion.getVersion());
    assertThat(deployed.getEvaluationId()).isEqualTo(pass.getEvaluationId());
    DecideResponse decided = shadow.stub.decide(DecideRequest.newBuilder()
        .setAttributes(request(new SplittableRandom(3), true)).build());
    assertThat(decided.getAction()).isEqualTo(Action.ACTION_DENY);
    assertThat(decided.getRule()).isEqualTo(ref(good));
  }

  @Test
  void deploymentLog_verifiesItsChain_andNamesTheFirstTamperedEntry() throws Exception {
    shadow.record("traffic", samples(2_000, 2));
    championDeployed();
    Rule good = passedChallenger(GOOD);
    shadow.stub.deployRule(DeployRuleRequest.newBuilder().setRequestId(id()).setRule(ref(good)).build());
    ListDeploymentsResponse log = shadow.stub.listDeployments(ListDeploymentsRequest.getDefaultInstance());
    assertThat(log.getChainVerified()).isTrue();
    assertThat(log.getChainLength()).isEqualTo(2);
    assertThat(log.getDeployments(1).getPreviousHash()).isEqualTo(log.getDeployments(0).getHash());

    try (Connection c = DriverManager.getConnection(shadow.jdbcUrl); Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE deployments SET reason = 'nothing to see' WHERE sequence = 1");
    }
    ListDeploymentsResponse tampered = shadow.stub.listDeployments(ListDeploymentsRequest.getDefaultInstance());
    assertThat(tampered.getChainVerified()).isFalse();
    assertThat(tampered.getFirstBrokenSequence()).isEqualTo(1);
  }

  /** Decides n requests with fresh keys and reports an outcome for every one. */
  private void traffic(int n, long seed) {
    traffic(n, seed, "GET");
  }

  private void traffic(int n, long seed, String benignMethod) {
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      boolean malicious = random.nextBoolean();
      DecideResponse d = shadow.stub.decide(DecideRequest.newBuilder().setRequestKey("session-" + seed + "-" + i)
          .setAttributes(request(random, malicious, benignMethod)).build());
      shadow.stub.reportOutcome(ReportOutcomeRequest.newBuilder().setRequestId(id()).setDecisionId(d.getDecisionId())
          .setLabel(malicious ? Label.LABEL_MALICIOUS : Label.LABEL_BENIGN).setLatencyMs(5).build());
    }
  }

  private Rollout rollout(String id) {
    return shadow.stub.getRollout(GetRolloutRequest.newBuilder().setRolloutId(id).build()).getRollout();
  }

  /** Small stages, and a tolerance that 60 outcomes an arm can settle under a uniform prior. */
  private static final RolloutThresholds QUICK = RolloutThresholds.newBuilder().setStageOutcomesMin(60)
      .setLossTolerance(0.05).build();

  @Test
  void goodCanary_advancesThroughEveryDefaultStage_andBecomesChampion() {
    shadow.record("traffic", samples(2_000, 3));
    Rule champion = championDeployed();
    Rule good = passedChallenger(GOOD);
    Rollout started = shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id())
        .setRule(ref(good)).setThresholds(QUICK).build()).getRollout();
    assertThat(started.getStagesList()).containsExactly(1, 5, 25, 50, 100);
    assertThat(started.getChampionVersion()).isEqualTo(champion.getVersion());
    long seed = 100;
    while (rollout(started.getRolloutId()).getState() == RolloutState.ROLLOUT_STATE_RUNNING && seed < 400) {
      traffic(200, seed++);
    }
    Rollout done = rollout(started.getRolloutId());
    assertThat(done.getState()).as("%s", done.getHistoryList()).isEqualTo(RolloutState.ROLLOUT_STATE_PROMOTED);
    assertThat(done.getHistoryList()).extracting(Stage::getPercent).containsExactly(1, 5, 25, 50, 100);
    assertThat(done.getHistory(4).getOutcome()).isEqualTo(StageOutcome.STAGE_OUTCOME_PROMOTED);
    assertThat(done.getHistory(0).getDisagreements()).isPositive();
    assertThat(shadow.stub.getRule(GetRuleRequest.newBuilder().setRuleId("admin").setVersion(good.getVersion())
        .build()).getRule().getChampion()).isTrue();
    ListDeploymentsResponse log = shadow.stub.listDeployments(ListDeploymentsRequest.getDefaultInstance());
    assertThat(log.getChainVerified()).isTrue();
    assertThat(log.getDeployments(log.getDeploymentsCount() - 1).getKind())
        .isEqualTo(DeploymentKind.DEPLOYMENT_KIND_PROMOTED);
  }

  @Test
  void badCanary_rollsBackByItself_andTheChampionStays() {
    shadow.record("traffic", samples(2_000, 4));
    Rule champion = championDeployed();
    Rule bad = passedChallenger(BAD);
    Rollout started = shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id())
        .setRule(ref(bad)).setThresholds(QUICK).build()).getRollout();
    long seed = 500;
    while (rollout(started.getRolloutId()).getState() == RolloutState.ROLLOUT_STATE_RUNNING && seed < 600) {
      traffic(500, seed++, "POST");
    }
    Rollout done = rollout(started.getRolloutId());
    assertThat(done.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
    assertThat(done.getHistory(0).getPercent()).isEqualTo(1);
    assertThat(done.getHistory(0).getReasonsList()).anyMatch(r -> r.contains("false-positive rate"));
    DecideResponse after = shadow.stub.decide(DecideRequest.newBuilder()
        .setAttributes(request(new SplittableRandom(5), false)).build());
    assertThat(after.getAction()).isEqualTo(Action.ACTION_ALLOW);
    assertThat(after.getArm()).isEqualTo(Arm.ARM_UNSPECIFIED);
    assertThat(shadow.stub.getRule(GetRuleRequest.newBuilder().setRuleId("admin").setVersion(champion.getVersion())
        .build()).getRule().getChampion()).isTrue();
  }

  @Test
  void skewedSplit_isASampleRatioMismatch_thatPauses_andAbortWorksWhilePaused() {
    shadow.record("traffic", samples(2_000, 6));
    championDeployed();
    Rule good = passedChallenger(GOOD);
    Rollout started = shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id())
        .setRule(ref(good)).addAllStages(List.of(50, 100)).setThresholds(QUICK).build()).getRollout();
    // Every decision keyed alike lands on one arm: a 50% split that delivers 100% / 0%.
    SplittableRandom random = new SplittableRandom(7);
    TestCalls.await(() -> {
      for (int i = 0; i < 50; i++) {
        shadow.stub.decide(DecideRequest.newBuilder().setRequestKey("one-client").setAttributes(request(random, true))
            .build());
      }
      return rollout(started.getRolloutId()).getState() != RolloutState.ROLLOUT_STATE_RUNNING;
    }, Duration.ofSeconds(30));
    Rollout paused = rollout(started.getRolloutId());
    assertThat(paused.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_PAUSED);
    assertThat(paused.getHistory(0).getReasons(0)).startsWith("sample ratio mismatch");
    assertThat(paused.getHistory(0).getSampleRatioPValue()).isLessThan(0.001);

    Rollout aborted = shadow.stub.abortRollout(AbortRolloutRequest.newBuilder().setRequestId(id())
        .setRolloutId(started.getRolloutId()).setReason("split is broken").build()).getRollout();
    assertThat(aborted.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_ABORTED);
    StatusRuntimeException again = refused(() -> shadow.stub.abortRollout(AbortRolloutRequest.newBuilder()
        .setRequestId(id()).setRolloutId(started.getRolloutId()).build()));
    assertThat(info(again).getReason()).isEqualTo("ROLLOUT_NOT_ACTIVE");
  }

  @Test
  void abort_atAFirstRunningStage_stopsTheSplitAtOnce() {
    shadow.record("traffic", samples(2_000, 8));
    championDeployed();
    Rule good = passedChallenger(GOOD);
    Rollout started = shadow.stub.startRollout(StartRolloutRequest.newBuilder().setRequestId(id())
        .setRule(ref(good)).addAllStages(List.of(100)).build()).getRollout();
    DecideResponse during = shadow.stub.decide(DecideRequest.newBuilder().setRequestKey("k")
        .setAttributes(request(new SplittableRandom(9), true)).build());
    assertThat(during.getArm()).isEqualTo(Arm.ARM_CHALLENGER);
    shadow.stub.abortRollout(AbortRolloutRequest.newBuilder().setRequestId(id()).setRolloutId(started.getRolloutId())
        .build());
    DecideResponse after = shadow.stub.decide(DecideRequest.newBuilder().setRequestKey("k")
        .setAttributes(request(new SplittableRandom(9), true)).build());
    assertThat(after.getArm()).isEqualTo(Arm.ARM_UNSPECIFIED);
    StatusRuntimeException reported = refused(() -> shadow.stub.reportOutcome(ReportOutcomeRequest.newBuilder()
        .setRequestId(id()).setDecisionId(during.getDecisionId() + "0").build()));
    assertThat(info(reported).getReason()).isEqualTo("DECISION_NOT_FOUND");
    shadow.stub.reportOutcome(ReportOutcomeRequest.newBuilder().setRequestId(id())
        .setDecisionId(during.getDecisionId()).setLabel(Label.LABEL_MALICIOUS).build());
    StatusRuntimeException twice = refused(() -> shadow.stub.reportOutcome(ReportOutcomeRequest.newBuilder()
        .setRequestId(id()).setDecisionId(during.getDecisionId()).build()));
    assertThat(info(twice).getReason()).isEqualTo("OUTCOME_ALREADY_REPORTED");
  }
}
