package fortress.shadow.rollout;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import fortress.shadow.v1.ArmStats;
import fortress.shadow.v1.RolloutThresholds;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The evidence a rollout stage is judged on, tenant by tenant. A rollout covers every tenant, but
 * each tenant's gateway reports its own outcomes, and a gateway can tell (or guess) which arm
 * decided, so one tenant could report whatever would roll a rollout back or push it on. Two rules
 * keep any one tenant from deciding:
 * <ol>
 *   <li><b>A share cap.</b> On each arm, each tenant's outcomes count for at most
 *       {@code tenant_share_max} of the arm's counted outcomes: the cap is the largest count
 *       {@code c} with {@code c <= share * sum(min(n_t, c))}, and a tenant with more than
 *       {@code c} outcomes has each of its counts weighed by {@code c / n_t}. So an arm has any
 *       evidence only once at least {@code 1 / share} tenants reported on it.
 *   <li><b>Agreement.</b> A step other than WAIT is taken only when the stage, judged again with
 *       any one tenant's (weighed) outcomes left out, takes the same step. Otherwise it waits, and
 *       its reasons name the tenant whose outcomes alone would decide. The tenants with the most
 *       counted outcomes are checked, at most {@link #TENANTS_CHECKED_MAX} of them.
 * </ol>
 * A share of 1 lifts both, for a deployment with one tenant, or whose reporting gateways are all
 * trusted; a server without tokens has no tenants and uses 1.
 */
public final class TenantEvidence {
  /** The default share, for rollouts whose thresholds predate tenant_share_max. */
  public static final double TENANT_SHARE_MAX_DEFAULT = 0.25;
  /** Leave-one-out judgements made per tick, the tenants with the most counted outcomes first. */
  static final int TENANTS_CHECKED_MAX = 100;
  private static final double EPSILON = 1e-9;

  private TenantEvidence() {}

  /** One tenant's outcomes on one arm of one stage. */
  public record Counts(String tenant, long outcomes, long malicious, long maliciousFlagged, long benign,
      long benignFlagged, long errors, long latencyMsSum) {
    public Counts {
      checkArgument(outcomes > 0 && errors <= outcomes && malicious + benign <= outcomes,
          "tenant %s's counts are inconsistent", tenant);
    }
  }

  /** One arm of one stage: its decisions and every tenant's outcomes on it. */
  public record Arm(long decisions, List<Counts> tenants) {
    public Arm {
      tenants = List.copyOf(tenants);
    }

    /** The arm as the stage is judged, each tenant weighed to {@code share}; none left out. */
    public ArmStats stats(double share) {
      return stats(share, null);
    }

    /** The arm's counted evidence with {@code excluded}'s outcomes (weighed as with it) left out. */
    ArmStats stats(double share, String excluded) {
      double cap = cap(tenants.stream().mapToLong(Counts::outcomes).toArray(), share);
      double outcomes = 0;
      double malicious = 0;
      double maliciousFlagged = 0;
      double benign = 0;
      double benignFlagged = 0;
      double errors = 0;
      double latency = 0;
      long reported = 0;
      for (Counts t : tenants) {
        reported += t.outcomes();
        if (t.tenant().equals(excluded)) {
          continue;
        }
        double w = Math.min(1, cap / t.outcomes());
        outcomes += w * t.outcomes();
        malicious += w * t.malicious();
        maliciousFlagged += w * t.maliciousFlagged();
        benign += w * t.benign();
        benignFlagged += w * t.benignFlagged();
        errors += w * t.errors();
        latency += w * t.latencyMsSum();
      }
      return ArmStats.newBuilder()
          .setDecisions(decisions)
          .setOutcomes(Math.round(outcomes))
          .setMalicious(Math.round(malicious))
          .setMaliciousFlagged(Math.round(maliciousFlagged))
          .setBenign(Math.round(benign))
          .setBenignFlagged(Math.round(benignFlagged))
          .setErrors(Math.round(errors))
          .setLatencyMsMean(outcomes > EPSILON ? latency / outcomes : 0)
          .setOutcomesReported(reported)
          .setTenants(tenants.size())
          .build();
    }

    double counted(String tenant, double share) {
      double cap = cap(tenants.stream().mapToLong(Counts::outcomes).toArray(), share);
      return tenants.stream().filter(t -> t.tenant().equals(tenant))
          .mapToDouble(t -> Math.min(t.outcomes(), cap)).sum();
    }
  }

  /** The rollout's share, with the default for thresholds stored before the field existed. */
  public static double share(RolloutThresholds t) {
    return t.getTenantShareMax() == 0 ? TENANT_SHARE_MAX_DEFAULT : t.getTenantShareMax();
  }

  /**
   * The most outcomes one tenant may count for: the largest {@code c} with
   * {@code c <= share * sum(min(n_t, c))}; 0 when fewer than {@code 1 / share} tenants reported,
   * and the largest count (no cap) when the share is 1.
   */
  static double cap(long[] outcomes, double share) {
    checkArgument(share > 0 && share <= 1, "a tenant share of %s is not in (0, 1]", share);
    long[] n = outcomes.clone();
    Arrays.sort(n);
    double prefix = 0;
    for (int k = 0; k < n.length; k++) {
      // Between n[k-1] and n[k]: f(c) = share * (prefix + (n.length - k) * c) - c, and f(n[k-1]) >= 0.
      double slope = share * (n.length - k) - 1;
      if (share * prefix + slope * n[k] >= -EPSILON * n[k]) {
        prefix += n[k];
        continue;
      }
      double cap = share * prefix / -slope;
      checkState(cap <= n[k] + EPSILON, "tenant cap %s passed the count %s it lies below", (Object) cap, (Object) n[k]);
      return cap;
    }
    return n.length == 0 ? 0 : n[n.length - 1];
  }

  /**
   * Judges the stage on every tenant's weighed outcomes, then again without each of the tenants
   * with the most counted outcomes; a step that any one of them alone decides becomes WAIT.
   */
  public static StageJudge.Judgement judge(Arm champion, Arm challenger, int percent, RolloutThresholds t) {
    double share = share(t);
    StageJudge.Judgement all = StageJudge.judge(champion.stats(share), challenger.stats(share), percent, t);
    if (all.step() == StageJudge.Step.WAIT || share >= 1) {
      return all;
    }
    Map<String, Double> counted = new HashMap<>();
    for (Arm arm : List.of(champion, challenger)) {
      for (Counts c : arm.tenants()) {
        counted.merge(c.tenant(), arm.counted(c.tenant(), share), Double::sum);
      }
    }
    List<String> tenants = new ArrayList<>(counted.keySet());
    tenants.sort(Comparator.comparing((String x) -> -counted.get(x)).thenComparing(x -> x));
    for (String tenant : tenants.subList(0, Math.min(TENANTS_CHECKED_MAX, tenants.size()))) {
      StageJudge.Judgement without = StageJudge.judge(champion.stats(share, tenant), challenger.stats(share, tenant),
          percent, t);
      if (without.step() != all.step()) {
        List<String> reasons = new ArrayList<>();
        reasons.add(String.format(Locale.ROOT, "held: the outcomes of all %d tenants say %s, but without tenant "
            + "'%s' they say %s; no one tenant's outcomes decide a rollout (an operator can abort it)",
            tenants.size(), all.step(), tenant, without.step()));
        reasons.addAll(all.reasons());
        return new StageJudge.Judgement(StageJudge.Step.WAIT, reasons, all.sampleRatioP());
      }
    }
    return all;
  }
}
