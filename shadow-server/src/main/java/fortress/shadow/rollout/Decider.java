package fortress.shadow.rollout;

import static com.google.common.base.Preconditions.checkState;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import fortress.shadow.rule.Attributes;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.Arm;
import fortress.shadow.v1.DecideRequest;
import fortress.shadow.v1.DecideResponse;
import fortress.shadow.v1.RuleRef;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import javax.crypto.spec.SecretKeySpec;

/**
 * The live path. Evaluates every champion; during a rollout, evaluates both versions of the
 * rolling-out rule, enforces the one the request's arm names and records a disagreement when they
 * differ. Enforces the strongest matching action: DENY, then DECEIVE, then CHALLENGE, then ALLOW.
 * A rule whose expression fails on a request, or runs past its time budget, does not match it.
 * Writes nothing synchronously.
 *
 * <p>The split between the arms is an HMAC-SHA256, under a key only the server holds, of the
 * rollout, the decision's tenant and the request key: deterministic for one key (a session stays
 * on its arm), but a caller cannot compute which keys land on which arm, so it cannot steer its
 * requests to the version it prefers.
 */
public final class Decider {
  /** Buckets of the split: a percent is 100 buckets. */
  static final int BUCKETS = 10_000;

  private final Supplier<Policy> policy;
  private final HashFunction split;
  private final DecisionIds ids;
  private final DecisionCounts counts;
  private final Disagreements disagreements;

  private static final AttributeKey<String> RULE = AttributeKey.stringKey("rule");
  private static final AttributeKey<String> ACTION = AttributeKey.stringKey("action");
  private static final AttributeKey<String> ARM = AttributeKey.stringKey("arm");
  private static final AttributeKey<String> STAGE = AttributeKey.stringKey("stage_percent");
  private final LongCounter decisions;
  private final LongCounter timeouts;

  /** {@code splitKey}: the server's key for the canary split. */
  public Decider(Supplier<Policy> policy, byte[] splitKey, DecisionIds ids, DecisionCounts counts,
      Disagreements disagreements, Meter meter) {
    this.policy = policy;
    this.split = Hashing.hmacSha256(new SecretKeySpec(splitKey.clone(), "HmacSHA256"));
    this.ids = ids;
    this.counts = counts;
    this.disagreements = disagreements;
    this.decisions = meter.counterBuilder("fortress.shadow.decisions").setUnit("{decision}")
        .setDescription("Decide answers, by enforced rule, action, rollout arm and rollout stage").build();
    this.timeouts = meter.counterBuilder("fortress.shadow.rule_timeouts").setUnit("{evaluation}")
        .setDescription("Rule evaluations in Decide stopped by their time budget (the rule did not match), by rule")
        .build();
  }

  private DecideResponse counted(DecideResponse r, Policy.Live live) {
    decisions.add(1, io.opentelemetry.api.common.Attributes.of(
        RULE, r.hasRule() ? r.getRule().getRuleId() : "none",
        ACTION, r.getAction().name().substring("ACTION_".length()).toLowerCase(java.util.Locale.ROOT),
        ARM, live == null ? "none" : r.getArm() == Arm.ARM_CHALLENGER ? "challenger" : "champion",
        STAGE, live == null ? "none" : Integer.toString(live.percent())));
    return r;
  }

  /** The deterministic split: whether a tenant's request key falls in the challenger's share. */
  boolean challengerArm(long rolloutId, String tenant, String key, int percent) {
    int hash = split.newHasher().putLong(rolloutId).putInt(tenant.length()).putString(tenant, StandardCharsets.UTF_8)
        .putString(key, StandardCharsets.UTF_8).hash().asInt();
    return Math.floorMod(hash, BUCKETS) < percent * (BUCKETS / 100);
  }

  /**
   * Decides a request whose attributes name the caller's tenant already (the gRPC glue scopes
   * them); the decision id is bound to {@code owner}.
   */
  public DecideResponse decide(DecideRequest request, DecisionIds.Owner owner) {
    checkState(owner.tenant().isEmpty() || owner.tenant().equals(request.getAttributes().getTenant()),
        "a decision for tenant %s reached Decider with attributes.tenant %s", owner.tenant(),
        request.getAttributes().getTenant());
    Policy p = policy.get();
    Attributes attributes = new Attributes(request.getAttributes());
    CompiledRule enforced = null;
    for (CompiledRule rule : p.champions()) {
      if (matches(rule, attributes)) {
        enforced = stronger(enforced, rule);
      }
    }
    Policy.Live live = p.rollout();
    if (live == null) {
      return counted(response(enforced, ids.issue(new DecisionIds.Decision(0, 0, Arm.ARM_UNSPECIFIED, false, false),
          owner), Arm.ARM_UNSPECIFIED, false), null);
    }
    String key = request.getRequestKey().isEmpty() ? request.getAttributes().getIp() : request.getRequestKey();
    String tenant = request.getAttributes().getTenant();
    boolean toChallenger = challengerArm(live.rolloutId(), tenant, key, live.percent());
    boolean championMatched = live.champion() != null && matches(live.champion(), attributes);
    boolean challengerMatched = matches(live.challenger(), attributes);
    Action championAction = championMatched ? live.champion().action() : Action.ACTION_UNSPECIFIED;
    Action challengerAction = challengerMatched ? live.challenger().action() : Action.ACTION_UNSPECIFIED;
    if (toChallenger ? challengerMatched : championMatched) {
      enforced = stronger(enforced, toChallenger ? live.challenger() : live.champion());
    }
    Arm arm = toChallenger ? Arm.ARM_CHALLENGER : Arm.ARM_CHAMPION;
    boolean disagreement = championAction != challengerAction;
    String id = ids.issue(new DecisionIds.Decision(live.rolloutId(), live.segment(), arm,
        championMatched && live.champion().enforcing(), challengerMatched && live.challenger().enforcing()), owner);
    counts.record(live.rolloutId(), live.segment(), toChallenger, disagreement);
    if (disagreement) {
      disagreements.offer(new Disagreements.Entry(live.rolloutId(), live.segment(), id, owner.tenant(), key,
          request.getAttributes(), championAction, challengerAction, arm));
    }
    return counted(response(enforced, id, arm, disagreement), live);
  }

  private boolean matches(CompiledRule rule, Attributes attributes) {
    try {
      return rule.matches(attributes);
    } catch (CompiledRule.EvaluationError e) {
      if (e.timedOut()) {
        timeouts.add(1, io.opentelemetry.api.common.Attributes.of(RULE, rule.ruleId()));
      }
      return false;
    }
  }

  private static CompiledRule stronger(CompiledRule current, CompiledRule candidate) {
    return current == null || rank(candidate.action()) > rank(current.action()) ? candidate : current;
  }

  private static int rank(Action a) {
    return switch (a) {
      case ACTION_DENY -> 4;
      case ACTION_DECEIVE -> 3;
      case ACTION_CHALLENGE -> 2;
      default -> 1;
    };
  }

  private static DecideResponse response(CompiledRule enforced, String id, Arm arm, boolean disagreement) {
    DecideResponse.Builder r = DecideResponse.newBuilder()
        .setDecisionId(id)
        .setAction(enforced == null ? Action.ACTION_ALLOW : enforced.action())
        .setArm(arm)
        .setDisagreement(disagreement);
    if (enforced != null) {
      r.setRule(RuleRef.newBuilder().setRuleId(enforced.ruleId()).setVersion(enforced.version()));
    }
    return r.build();
  }
}
