package fortress.shadow.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.shadow.v1.ArmStats;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/** The share cap: what one tenant's outcomes may count for on an arm. */
class TenantEvidenceTest {
  private static TenantEvidence.Arm arm(List<Long> outcomes) {
    List<TenantEvidence.Counts> tenants = new ArrayList<>();
    for (int i = 0; i < outcomes.size(); i++) {
      long n = outcomes.get(i);
      tenants.add(new TenantEvidence.Counts("t" + i, n, n / 2, n / 4, n - n / 2, 0, n / 3, 5 * n));
    }
    return new TenantEvidence.Arm(0, tenants);
  }

  @Property(tries = 500)
  void noTenant_countsForMoreThanItsShare_andTooFewTenantsCountForNothing(
      @ForAll @Size(min = 1, max = 12) List<@LongRange(min = 1, max = 1_000_000) Long> outcomes,
      @ForAll @DoubleRange(min = 0.01, max = 1) double share) {
    TenantEvidence.Arm arm = arm(outcomes);
    double total = 0;
    for (int i = 0; i < outcomes.size(); i++) {
      total += arm.counted("t" + i, share);
    }
    for (int i = 0; i < outcomes.size(); i++) {
      assertThat(arm.counted("t" + i, share)).isLessThanOrEqualTo(share * total + 1e-6 * total + 1e-9);
      assertThat(arm.counted("t" + i, share)).isLessThanOrEqualTo(outcomes.get(i));
    }
    if (outcomes.size() * share < 1 - 1e-9) {
      assertThat(total).isZero();
    }
    ArmStats stats = arm.stats(share);
    assertThat(stats.getOutcomesReported()).isEqualTo(outcomes.stream().mapToLong(Long::longValue).sum());
    assertThat(stats.getTenants()).isEqualTo(outcomes.size());
    assertThat(stats.getErrors()).isLessThanOrEqualTo(stats.getOutcomes());
  }

  @Property(tries = 200)
  void aShareOfOne_countsEveryOutcome(
      @ForAll @Size(min = 1, max = 12) List<@LongRange(min = 1, max = 1_000_000) Long> outcomes) {
    assertThat(arm(outcomes).stats(1).getOutcomes()).isEqualTo(outcomes.stream().mapToLong(Long::longValue).sum());
  }

  @Property(tries = 200)
  void tenantsAtOrUnderTheirShare_countInFull(@ForAll @LongRange(min = 1, max = 1_000_000) long each,
      @ForAll @LongRange(min = 4, max = 12) long tenants) {
    List<Long> outcomes = new ArrayList<>();
    for (int i = 0; i < tenants; i++) {
      outcomes.add(each);
    }
    assertThat(arm(outcomes).stats(0.25).getOutcomes()).isEqualTo(each * tenants);
  }
}
