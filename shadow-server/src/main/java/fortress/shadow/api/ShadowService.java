package fortress.shadow.api;

import fortress.core.rpc.Rejection;
import fortress.core.rpc.Reply;
import fortress.core.security.Caller;
import fortress.core.store.Database;
import fortress.shadow.eval.EvaluationJobs;
import fortress.shadow.eval.Verdicts;
import fortress.shadow.rollout.Decider;
import fortress.shadow.rollout.DecisionIds;
import fortress.shadow.rollout.RolloutController;
import fortress.shadow.rollout.StageJudge;
import fortress.shadow.rule.RuleCompiler;
import fortress.shadow.store.AuditLog;
import fortress.shadow.store.EvaluationStore;
import fortress.shadow.store.Operations;
import fortress.shadow.store.RolloutStore;
import fortress.shadow.store.RuleStore;
import fortress.shadow.store.SampleStore;
import fortress.shadow.v1.*;
import fortress.shadow.v1.ErrorReason;
import io.grpc.stub.StreamObserver;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The gRPC glue: checks what the caller may do beyond its role (the Guard checked that), validates
 * each request, runs it (mutations inside one transaction with their idempotency record), and maps
 * rejections to statuses. Anything unexpected is logged here and answered as UNAVAILABLE without
 * internals, never as UNKNOWN.
 */
public final class ShadowService extends ShadowServiceGrpc.ShadowServiceImplBase {
  private static final List<Integer> STAGES_DEFAULT = List.of(1, 5, 25, 50, 100);

  /** The limits the service enforces, from the server's configuration. */
  public record Limits(int samplesPerCallMax, long datasetSamplesMax, long evaluationSamplesMax, int pageSizeDefault,
      int pageSizeMax, double rolloutTenantShareMax) {}

  private final Database database;
  private final RuleCompiler compiler;
  private final EvaluationJobs jobs;
  private final RolloutController rollouts;
  private final Decider decider;
  private final DecisionIds decisionIds;
  private final PageTokens pageTokens;
  private final Limits limits;

  /** {@code pageTokenKey}: the server's key that signs page tokens. */
  public ShadowService(Database database, RuleCompiler compiler, EvaluationJobs jobs, RolloutController rollouts,
      Decider decider, DecisionIds decisionIds, byte[] pageTokenKey, Limits limits) {
    this.database = database;
    this.compiler = compiler;
    this.jobs = jobs;
    this.rollouts = rollouts;
    this.decider = decider;
    this.decisionIds = decisionIds;
    this.pageTokens = new PageTokens(pageTokenKey);
    this.limits = limits;
  }

  @Override
  public void createRule(CreateRuleRequest r, StreamObserver<CreateRuleResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("rule_id", r.getRuleId());
      Checks.expression(r.getExpression());
      Checks.action(r.getAction());
      Checks.text("description", r.getDescription(), Checks.TEXT_LENGTH_MAX);
      RuleCompiler.Checked checked = compiler.check(r.getExpression());
      Rule rule = Rule.newBuilder().setRuleId(r.getRuleId()).setVersion(checked.version())
          .setExpression(r.getExpression()).setAction(r.getAction()).setDescription(r.getDescription())
          .setCost(checked.cost()).build();
      return database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          CreateRuleResponse.parser(), () -> {
            RuleStore.Stored stored = RuleStore.insert(c, rule);
            return CreateRuleResponse.newBuilder().setRule(stored.rule()).setCreated(stored.created()).build();
          }));
    });
  }

  @Override
  public void getRule(GetRuleRequest r, StreamObserver<GetRuleResponse> out) {
    reply(out, () -> {
      Checks.name("rule_id", r.getRuleId());
      if (!r.getVersion().isEmpty()) {
        Checks.version("version", r.getVersion());
      }
      Rule rule = database.inTransaction(c -> RuleStore.get(c, r.getRuleId(), r.getVersion()));
      return GetRuleResponse.newBuilder().setRule(rule).build();
    });
  }

  @Override
  public void listRules(ListRulesRequest r, StreamObserver<ListRulesResponse> out) {
    reply(out, () -> {
      if (!r.getRuleId().isEmpty()) {
        Checks.name("rule_id", r.getRuleId());
      }
      int size = Checks.pageSize(r.getPageSize(), limits.pageSizeDefault(), limits.pageSizeMax());
      String listing = "rules/" + r.getRuleId();
      RuleStore.After after = r.getPageToken().isEmpty() ? null
          : ruleAfter(pageTokens.parse(r.getPageToken(), listing, 3));
      return database.inTransaction(c -> {
        List<Rule> rules = RuleStore.list(c, r.getRuleId(), after, size + 1);
        ListRulesResponse.Builder b = ListRulesResponse.newBuilder().addAllRules(rules.subList(0,
            Math.min(size, rules.size())));
        if (rules.size() > size) {
          RuleStore.After last = RuleStore.key(c, rules.get(size - 1));
          b.setNextPageToken(pageTokens.issue(listing, List.of(last.ruleId(), last.createTime().toString(),
              last.version())));
        }
        return b.build();
      });
    });
  }

  /**
   * The Guard lets any valid token in, since two roles may record: {@code shadow.record}, and
   * {@code decoy}, whose samples make the dataset attacker-supplied. Which one is the token's
   * business, never the request's. A decoy records only into datasets it creates or that are
   * attacker-supplied already; anyone else into an attacker-supplied one only when asked to.
   */
  @Override
  public void recordSamples(RecordSamplesRequest r, StreamObserver<RecordSamplesResponse> out) {
    reply(out, () -> {
      Optional<Caller> caller = Caller.current();
      boolean attackerSupplied = Roles.decoy(caller);
      if (!attackerSupplied && !Roles.has(caller, Roles.RECORD)) {
        throw new Rejection(fortress.auth.v1.ErrorReason.ROLE_REQUIRED, "RecordSamples needs a token with the role "
            + Roles.RECORD + " (or " + Roles.DECOY + ", for a decoy's exports)", Map.of("role", Roles.RECORD));
      }
      Checks.requestId(r.getRequestId());
      Checks.name("dataset", r.getDataset());
      Checks.samples(r.getSamplesList(), limits.samplesPerCallMax());
      return database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          RecordSamplesResponse.parser(), () -> {
            Dataset dataset = SampleStore.append(c, r.getDataset(), r.getSamplesList(), limits.datasetSamplesMax(),
                attackerSupplied, r.getAllowAttackerSupplied());
            return RecordSamplesResponse.newBuilder()
                .setDataset(r.getDataset())
                .setRecordedCount(r.getSamplesCount())
                .setDatasetSampleCount(dataset.getSampleCount())
                .setAttackerSupplied(dataset.getAttackerSupplied())
                .build();
          }));
    });
  }

  @Override
  public void getDataset(GetDatasetRequest r, StreamObserver<GetDatasetResponse> out) {
    reply(out, () -> {
      Checks.name("dataset", r.getDataset());
      Dataset dataset = database.inTransaction(c -> SampleStore.get(c, r.getDataset()));
      return GetDatasetResponse.newBuilder().setDataset(dataset).build();
    });
  }

  @Override
  public void startEvaluation(StartEvaluationRequest r, StreamObserver<StartEvaluationResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("dataset", r.getDataset());
      Checks.ruleRef("challenger", r.getChallenger(), true);
      Checks.ruleRef("champion", r.getChampion(), false);
      Checks.prior(r.getPrior());
      Checks.range("sample_limit", r.getSampleLimit(), 0, limits.evaluationSamplesMax());
      VerdictSettings settings = Verdicts.withDefaults(r.getSettings());
      Checks.settings(settings);
      BetaPrior prior = BetaPrior.newBuilder().setAlpha(Math.max(1, r.getPrior().getAlpha()))
          .setBeta(Math.max(1, r.getPrior().getBeta())).build();
      StartEvaluationResponse response = database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          StartEvaluationResponse.parser(), () -> {
            RuleStore.get(c, r.getChallenger().getRuleId(), r.getChallenger().getVersion());
            RuleRef champion = r.getChampion();
            if (champion.getRuleId().isEmpty()) {
              String version = RuleStore.championVersion(c, r.getChallenger().getRuleId());
              champion = version.isEmpty() ? RuleRef.getDefaultInstance()
                  : RuleRef.newBuilder().setRuleId(r.getChallenger().getRuleId()).setVersion(version).build();
            } else {
              RuleStore.get(c, champion.getRuleId(), champion.getVersion());
            }
            Dataset dataset = SampleStore.get(c, r.getDataset());
            if (dataset.getAttackerSupplied() && !r.getAllowAttackerSupplied()) {
              throw new Rejection(ErrorReason.DATASET_ATTACKER_SUPPLIED, "dataset " + r.getDataset() + " holds "
                  + "samples from a decoy, chosen by an attacker; set allow_attacker_supplied to evaluate over it "
                  + "anyway", Map.of("dataset", r.getDataset()));
            }
            long count = dataset.getSampleCount();
            long limit = r.getSampleLimit() == 0 ? limits.evaluationSamplesMax() : r.getSampleLimit();
            Evaluation spec = Evaluation.newBuilder()
                .setDataset(r.getDataset())
                .setChallenger(r.getChallenger())
                .setChampion(champion)
                .setPrior(prior)
                .setSeed(r.getSeed() == 0 ? 1 : r.getSeed())
                .setSettings(settings)
                .setSampleLimit(limit)
                .setSamplesTotal(Math.min(count, limit))
                .setAttackerSupplied(dataset.getAttackerSupplied())
                .build();
            return StartEvaluationResponse.newBuilder().setEvaluation(EvaluationStore.create(c, spec)).build();
          }));
      if (response.getEvaluation().getState() == EvaluationState.EVALUATION_STATE_RUNNING
          && response.getEvaluation().getSamplesDone() == 0) {
        jobs.start(response.getEvaluation().getEvaluationId());
      }
      return response;
    });
  }

  @Override
  public void getEvaluation(GetEvaluationRequest r, StreamObserver<GetEvaluationResponse> out) {
    reply(out, () -> {
      Checks.text("evaluation_id", r.getEvaluationId(), Checks.NAME_LENGTH_MAX);
      Evaluation evaluation = database.inTransaction(c -> EvaluationStore.get(c, r.getEvaluationId()));
      return GetEvaluationResponse.newBuilder().setEvaluation(evaluation).build();
    });
  }

  @Override
  public void deployRule(DeployRuleRequest r, StreamObserver<DeployRuleResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.ruleRef("rule", r.getRule(), true);
      Checks.text("reason", r.getReason(), Checks.TEXT_LENGTH_MAX);
      DeployRuleResponse response = database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          DeployRuleResponse.parser(),
          () -> DeployRuleResponse.newBuilder().setDeployment(rollouts.deploy(c, r.getRule(), r.getReason())).build()));
      rollouts.reload();
      return response;
    });
  }

  @Override
  public void listDeployments(ListDeploymentsRequest r, StreamObserver<ListDeploymentsResponse> out) {
    reply(out, () -> {
      int size = Checks.pageSize(r.getPageSize(), limits.pageSizeDefault(), limits.pageSizeMax());
      long after = r.getPageToken().isEmpty() ? 0
          : sequence(pageTokens.parse(r.getPageToken(), "deployments", 1).get(0));
      return database.inTransaction(c -> {
        List<Deployment> page = AuditLog.list(c, after, size + 1);
        AuditLog.Verification v = AuditLog.verify(c);
        ListDeploymentsResponse.Builder b = ListDeploymentsResponse.newBuilder()
            .addAllDeployments(page.subList(0, Math.min(size, page.size())))
            .setChainVerified(v.verified())
            .setChainLength(v.length())
            .setFirstBrokenSequence(v.firstBrokenSequence());
        if (page.size() > size) {
          b.setNextPageToken(pageTokens.issue("deployments",
              List.of(Long.toString(page.get(size - 1).getSequence()))));
        }
        return b.build();
      });
    });
  }

  @Override
  public void startRollout(StartRolloutRequest r, StreamObserver<StartRolloutResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.ruleRef("rule", r.getRule(), true);
      List<Integer> stages = r.getStagesCount() == 0 ? STAGES_DEFAULT : r.getStagesList();
      Checks.stages(stages);
      RolloutThresholds thresholds = StageJudge.withDefaults(r.getThresholds(), limits.rolloutTenantShareMax());
      Checks.thresholds(thresholds);
      StartRolloutResponse response = database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          StartRolloutResponse.parser(), () -> StartRolloutResponse.newBuilder()
              .setRollout(rollouts.start(c, r.getRule(), stages, thresholds)).build()));
      rollouts.reload();
      return response;
    });
  }

  @Override
  public void getRollout(GetRolloutRequest r, StreamObserver<GetRolloutResponse> out) {
    reply(out, () -> {
      Checks.text("rollout_id", r.getRolloutId(), Checks.NAME_LENGTH_MAX);
      long id = RolloutStore.parse(r.getRolloutId());
      Rollout rollout = database.inTransaction(c -> RolloutStore.describe(c, id));
      return GetRolloutResponse.newBuilder().setRollout(rollout).build();
    });
  }

  @Override
  public void resumeRollout(ResumeRolloutRequest r, StreamObserver<ResumeRolloutResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.text("rollout_id", r.getRolloutId(), Checks.NAME_LENGTH_MAX);
      ResumeRolloutResponse response = database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          ResumeRolloutResponse.parser(), () -> ResumeRolloutResponse.newBuilder()
              .setRollout(rollouts.resume(c, r.getRolloutId())).build()));
      rollouts.reload();
      return response;
    });
  }

  @Override
  public void abortRollout(AbortRolloutRequest r, StreamObserver<AbortRolloutResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.text("rollout_id", r.getRolloutId(), Checks.NAME_LENGTH_MAX);
      Checks.text("reason", r.getReason(), Checks.TEXT_LENGTH_MAX);
      AbortRolloutResponse response = database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          AbortRolloutResponse.parser(), () -> AbortRolloutResponse.newBuilder()
              .setRollout(rollouts.abort(c, r.getRolloutId(), r.getReason())).build()));
      rollouts.reload();
      return response;
    });
  }

  /**
   * A decision is for the caller's tenant: its token must name one (an admin token may name none
   * and decide for any tenant), and attributes.tenant must be empty, which means that tenant, or
   * that tenant. The decision id is bound to the caller.
   */
  @Override
  public void decide(DecideRequest r, StreamObserver<DecideResponse> out) {
    reply(out, () -> {
      Optional<Caller> caller = Caller.current();
      String tenant = r.getAttributes().getTenant();
      if (caller.isPresent() && caller.get().tenant() == null && !caller.get().admin()) {
        throw new Rejection(fortress.auth.v1.ErrorReason.TENANT_REQUIRED, "Decide needs a token that names a tenant: "
            + "the tenant whose requests it decides");
      }
      if (caller.isPresent() && caller.get().tenant() != null && !tenant.isEmpty()
          && !tenant.equals(caller.get().tenant())) {
        throw new Rejection(fortress.auth.v1.ErrorReason.TENANT_FORBIDDEN, "attributes.tenant: the token is for "
            + "another tenant; leave it empty to decide for the token's tenant", Map.of("field", "attributes.tenant"));
      }
      Checks.requestKey(r.getRequestKey(), r.getAttributes().getIp());
      Checks.attributes("attributes", r.getAttributes());
      DecideRequest scoped = caller.isPresent() && caller.get().tenant() != null && tenant.isEmpty()
          ? r.toBuilder().setAttributes(r.getAttributes().toBuilder().setTenant(caller.get().tenant())).build() : r;
      return decider.decide(scoped, owner(caller));
    });
  }

  @Override
  public void reportOutcome(ReportOutcomeRequest r, StreamObserver<ReportOutcomeResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.text("decision_id", r.getDecisionId(), Checks.NAME_LENGTH_MAX * 2);
      Checks.label(r.getLabel());
      Checks.latency(r.getLatencyMs());
      DecisionIds.Owner owner = owner(Caller.current());
      DecisionIds.Decision d = decisionIds.parse(r.getDecisionId(), owner);
      return database.inTransaction(c -> Operations.once(c, caller(), r.getRequestId(), r,
          ReportOutcomeResponse.parser(), () -> {
            if (!RolloutStore.addOutcome(c, r.getDecisionId(), d, owner.tenant(), r.getLabel(), r.getError(),
                r.getLatencyMs())) {
              throw new Rejection(ErrorReason.OUTCOME_ALREADY_REPORTED, "decision " + r.getDecisionId()
                  + " already has an outcome", Map.of("decision_id", r.getDecisionId()));
            }
            boolean counted = d.rolloutId() > 0 && RolloutStore.active(c)
                .filter(row -> row.id() == d.rolloutId() && row.segment() == d.segment()
                    && row.state() == RolloutState.ROLLOUT_STATE_RUNNING)
                .isPresent();
            return ReportOutcomeResponse.newBuilder().setCounted(counted).build();
          }));
    });
  }

  /** The caller whose request_ids a mutation's idempotency record is kept under. */
  private static String caller() {
    return Operations.caller(Caller.current());
  }

  /** The caller a decision belongs to; {@link DecisionIds.Owner#NONE} with tokens off. */
  private static DecisionIds.Owner owner(Optional<Caller> caller) {
    return caller.map(c -> new DecisionIds.Owner(c.subject(), c.tenant() == null ? "" : c.tenant()))
        .orElse(DecisionIds.Owner.NONE);
  }

  /** A ListRules key read back from a token, its parts checked again before they reach SQL. */
  private static RuleStore.After ruleAfter(List<String> key) {
    try {
      OffsetDateTime createTime = OffsetDateTime.parse(key.get(1));
      Checks.name("page_token", key.get(0));
      Checks.version("page_token", key.get(2));
      return new RuleStore.After(key.get(0), createTime, key.get(2));
    } catch (DateTimeParseException | Rejection e) {
      throw PageTokens.invalid();
    }
  }

  private static long sequence(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw PageTokens.invalid();
    }
  }

  /** Runs a handler and answers with its response or its status. */
  private static <T> void reply(StreamObserver<T> out, Reply.Handler<T> handler) {
    Reply.unary(out, handler, () -> new Rejection(ErrorReason.OUTCOME_UNKNOWN, "the shadow server could not "
        + "complete the call; retry with the same request_id").toStatus());
  }
}
