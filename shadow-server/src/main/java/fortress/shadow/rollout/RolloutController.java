package fortress.shadow.rollout;

import fortress.core.rpc.Rejection;
import fortress.core.store.Database;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.rule.RuleCompiler;
import fortress.shadow.store.AuditLog;
import fortress.shadow.store.EvaluationStore;
import fortress.shadow.store.RolloutStore;
import fortress.shadow.store.RuleStore;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.Deployment;
import fortress.shadow.v1.DeploymentKind;
import fortress.shadow.v1.ErrorReason;
import fortress.shadow.v1.Rollout;
import fortress.shadow.v1.RolloutState;
import fortress.shadow.v1.RolloutThresholds;
import fortress.shadow.v1.Rule;
import fortress.shadow.v1.RuleRef;
import fortress.shadow.v1.StageOutcome;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns who decides: deploys, rollouts and their stage transitions, each one transaction that also
 * appends to the audit log, and the {@link Policy} Decide reads, rebuilt after every change.
 * Transitions of one rollout are serialized by a row lock, so the periodic judge and an operator's
 * abort never both act on the same stage.
 */
public final class RolloutController {
  private static final Logger log = LoggerFactory.getLogger(RolloutController.class);

  private final Database database;
  private final RuleCompiler compiler;
  private final DecisionCounts counts;
  private volatile Policy policy = Policy.EMPTY;

  public RolloutController(Database database, RuleCompiler compiler, DecisionCounts counts) {
    this.database = database;
    this.compiler = compiler;
    this.counts = counts;
  }

  public Policy policy() {
    return policy;
  }

  /** Rebuilds the policy from the database; call after every committed change. */
  public synchronized void reload() {
    policy = database.inTransaction(c -> {
      Map<String, Rule> champions = RuleStore.champions(c);
      Optional<RolloutStore.Row> active = RolloutStore.active(c);
      Policy.Live live = null;
      if (active.isPresent() && active.get().state() == RolloutState.ROLLOUT_STATE_RUNNING) {
        RolloutStore.Row row = active.get();
        Rule challenger = RuleStore.get(c, row.rule().getRuleId(), row.rule().getVersion());
        Rule champion = champions.remove(row.rule().getRuleId());
        live = new Policy.Live(row.id(), row.segment(), row.percent(), champion == null ? null : compile(champion),
            compile(challenger));
      }
      List<CompiledRule> compiled = new ArrayList<>();
      for (Rule r : champions.values()) {
        compiled.add(compile(r));
      }
      return new Policy(compiled, live);
    });
  }

  private CompiledRule compile(Rule r) {
    return compiler.compiled(r.getRuleId(), r.getExpression(), r.getAction());
  }

  /** DeployRule: makes a passed version champion now. */
  public Deployment deploy(Connection c, RuleRef ref, String reason) throws SQLException {
    RuleStore.get(c, ref.getRuleId(), ref.getVersion());
    String current = RuleStore.championVersion(c, ref.getRuleId());
    if (current.equals(ref.getVersion())) {
      throw alreadyChampion(ref);
    }
    Optional<RolloutStore.Row> active = RolloutStore.active(c);
    if (active.isPresent() && active.get().rule().getRuleId().equals(ref.getRuleId())) {
      throw new Rejection(ErrorReason.ROLLOUT_IN_PROGRESS, "rule " + ref.getRuleId() + " is being rolled out by "
          + active.get().rolloutId() + "; abort it first", Map.of("rollout_id", active.get().rolloutId()));
    }
    String evaluationId = requirePass(c, ref);
    RuleStore.setChampion(c, ref.getRuleId(), ref.getVersion());
    return AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_DEPLOYED, ref, current, evaluationId, "",
        reason.isEmpty() ? "deployed after evaluation " + evaluationId : reason);
  }

  /** StartRollout: a passed version, against its rule's champion, at the first stage. */
  public Rollout start(Connection c, RuleRef ref, List<Integer> stages, RolloutThresholds thresholds)
      throws SQLException {
    RuleStore.get(c, ref.getRuleId(), ref.getVersion());
    String champion = RuleStore.championVersion(c, ref.getRuleId());
    if (champion.equals(ref.getVersion())) {
      throw alreadyChampion(ref);
    }
    Optional<RolloutStore.Row> active = RolloutStore.active(c);
    if (active.isPresent()) {
      throw new Rejection(ErrorReason.ROLLOUT_IN_PROGRESS, "rollout " + active.get().rolloutId() + " of rule "
          + active.get().rule().getRuleId() + " is still " + active.get().state() + "; one rollout runs at a time",
          Map.of("rollout_id", active.get().rolloutId()));
    }
    String evaluationId = requirePass(c, ref);
    RolloutStore.Row row = RolloutStore.create(c, ref, champion, evaluationId, stages, thresholds);
    AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLOUT_STARTED, ref, champion, evaluationId, row.rolloutId(),
        "rollout started at " + stages.get(0) + "% after evaluation " + evaluationId);
    return RolloutStore.describe(c, row.id());
  }

  /** ResumeRollout: a paused rollout runs its stage again with fresh counts. */
  public Rollout resume(Connection c, String rolloutId) throws SQLException {
    RolloutStore.Row row = locked(c, rolloutId);
    if (row.state() != RolloutState.ROLLOUT_STATE_PAUSED) {
      throw notActive(row, "only a PAUSED rollout resumes");
    }
    RolloutStore.setState(c, row.id(), RolloutState.ROLLOUT_STATE_RUNNING);
    RolloutStore.startSegment(c, row.id(), row.segment() + 1, row.stageIndex(), row.percent());
    AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLOUT_RESUMED, row.rule(), row.championVersion(), "",
        row.rolloutId(), "resumed at " + row.percent() + "%");
    return RolloutStore.describe(c, row.id());
  }

  /** AbortRollout: any active rollout stops; the champion stays. */
  public Rollout abort(Connection c, String rolloutId, String reason) throws SQLException {
    RolloutStore.Row row = locked(c, rolloutId);
    if (!row.active()) {
      throw notActive(row, "it has already finished");
    }
    String why = reason.isEmpty() ? "aborted by an operator" : reason;
    if (row.state() == RolloutState.ROLLOUT_STATE_RUNNING) {
      RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_ABORTED, List.of(why));
    }
    RolloutStore.setState(c, row.id(), RolloutState.ROLLOUT_STATE_ABORTED);
    AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLOUT_ABORTED, row.rule(), row.championVersion(), "",
        row.rolloutId(), why);
    return RolloutStore.describe(c, row.id());
  }

  /**
   * One tick: writes the decisions counted since the last tick, then judges the running stage
   * and applies the step. Never throws; a failed tick is retried by the next.
   */
  public void tick() {
    try {
      Map<DecisionCounts.Segment, DecisionCounts.Delta> deltas = counts.drain();
      if (!deltas.isEmpty()) {
        database.inTransaction(c -> {
          RolloutStore.addDecisions(c, deltas);
          return null;
        });
      }
      boolean changed = database.inTransaction(this::judgeActive);
      if (changed) {
        reload();
      }
    } catch (RuntimeException e) {
      log.warn("rollout tick failed; retrying next tick: {}", e.getMessage());
    }
  }

  private boolean judgeActive(Connection c) throws SQLException {
    Optional<RolloutStore.Row> active = RolloutStore.active(c);
    if (active.isEmpty() || active.get().state() != RolloutState.ROLLOUT_STATE_RUNNING) {
      return false;
    }
    RolloutStore.Row row = locked(c, active.get().rolloutId());
    if (row.state() != RolloutState.ROLLOUT_STATE_RUNNING) {
      return false;
    }
    long[] decisions = decisions(c, row);
    TenantEvidence.Arm champion = RolloutStore.arm(c, row.id(), row.segment(), Arm.ARM_CHAMPION, decisions[0]);
    TenantEvidence.Arm challenger = RolloutStore.arm(c, row.id(), row.segment(), Arm.ARM_CHALLENGER, decisions[1]);
    StageJudge.Judgement j = TenantEvidence.judge(champion, challenger, row.percent(), row.thresholds());
    String summary = String.join("; ", j.reasons());
    switch (j.step()) {
      case WAIT -> {
        RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_UNSPECIFIED, j.reasons());
        return false;
      }
      case ADVANCE -> {
        RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_ADVANCED, j.reasons());
        int next = row.stageIndex() + 1;
        RolloutStore.startSegment(c, row.id(), row.segment() + 1, next, row.stages().get(next));
        AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLOUT_ADVANCED, row.rule(), row.championVersion(), "",
            row.rolloutId(), row.percent() + "% -> " + row.stages().get(next) + "%: " + summary);
      }
      case PROMOTE -> {
        RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_PROMOTED, j.reasons());
        RolloutStore.setState(c, row.id(), RolloutState.ROLLOUT_STATE_PROMOTED);
        RuleStore.setChampion(c, row.rule().getRuleId(), row.rule().getVersion());
        AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_PROMOTED, row.rule(), row.championVersion(),
            row.evaluationId(), row.rolloutId(), summary);
      }
      case ROLLBACK -> {
        RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_ROLLED_BACK, j.reasons());
        RolloutStore.setState(c, row.id(), RolloutState.ROLLOUT_STATE_ROLLED_BACK);
        AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLED_BACK, row.rule(), row.championVersion(), "",
            row.rolloutId(), "at " + row.percent() + "%: " + summary);
      }
      case PAUSE -> {
        RolloutStore.judge(c, row.id(), row.segment(), StageOutcome.STAGE_OUTCOME_PAUSED, j.reasons());
        RolloutStore.setState(c, row.id(), RolloutState.ROLLOUT_STATE_PAUSED);
        AuditLog.append(c, DeploymentKind.DEPLOYMENT_KIND_ROLLOUT_PAUSED, row.rule(), row.championVersion(), "",
            row.rolloutId(), "at " + row.percent() + "%: " + summary);
      }
    }
    log.info("rollout {} of {}/{} at {}%: {} ({})", row.rolloutId(), row.rule().getRuleId(), row.rule().getVersion(),
        row.percent(), j.step(), summary);
    return true;
  }

  private static long[] decisions(Connection c, RolloutStore.Row row) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("""
        SELECT decisions_champion, decisions_challenger FROM rollout_segments WHERE rollout_id = ? AND segment = ?""")) {
      s.setLong(1, row.id());
      s.setInt(2, row.segment());
      try (var rs = s.executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1), rs.getLong(2)};
      }
    }
  }

  private static RolloutStore.Row locked(Connection c, String rolloutId) throws SQLException {
    long id = RolloutStore.parse(rolloutId);
    try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM rollouts WHERE rollout_id = ? FOR UPDATE")) {
      s.setLong(1, id);
      s.execute();
    }
    return RolloutStore.get(c, id);
  }

  private static String requirePass(Connection c, RuleRef ref) throws SQLException {
    return EvaluationStore.passed(c, ref).orElseThrow(() -> new Rejection(ErrorReason.SHADOW_EVALUATION_REQUIRED,
        "rule " + ref.getRuleId() + " version " + ref.getVersion() + " has no PASS evaluation; run StartEvaluation "
            + "with it as the challenger and wait for VERDICT_PASS",
        Map.of("rule_id", ref.getRuleId(), "version", ref.getVersion())));
  }

  private static Rejection alreadyChampion(RuleRef ref) {
    return new Rejection(ErrorReason.ALREADY_CHAMPION, "rule " + ref.getRuleId() + " version " + ref.getVersion()
        + " is already the champion", Map.of("rule_id", ref.getRuleId(), "version", ref.getVersion()));
  }

  private static Rejection notActive(RolloutStore.Row row, String why) {
    return new Rejection(ErrorReason.ROLLOUT_NOT_ACTIVE, "rollout " + row.rolloutId() + " is " + row.state() + "; " + why,
        Map.of("rollout_id", row.rolloutId(), "state", row.state().name()));
  }
}
