package fortress.bench.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The bank test as CI runs it: a short seeded run of the real cluster (PostgreSQL, three ledger
 * processes, the proxy) with at least 20 faults, which must end with no anomaly; and, on the same
 * cluster, a doctored copy of the history and a real credit that never lands, in which the checker
 * must find every planted anomaly.
 */
class BankTest {
  private static final Path ROOT = Path.of(System.getProperty("fortress.root", ".."));

  @Test
  void aShortSeededRunWithTwentyFaults_endsWithNoAnomaly_andTheCheckerCatchesPlantedOnes() throws Exception {
    Bank.Summary s = Bank.run(new Bank.Options(ROOT, 45, 20, 6, 24, 7, 0.8, 0.2, 100, 1_000, false, false,
        Path.of("target", "bank-history.jsonl"), "160m", true));
    System.out.print(s.report());
    assertThat(s.faultCount()).isGreaterThanOrEqualTo(20);
    assertThat(s.ok()).as("the clients got work done between faults").isGreaterThan(50);
    assertThat(s.anomalies()).as(s.report()).isEmpty();
    assertThat(s.selfCheck()).as("the planted lies, each found once")
        .containsEntry("acknowledged-missing", 1L).containsEntry("failed-present", 1L)
        .containsEntry("acknowledged-differs", 1L).containsEntry("credit-never-landed", 1L);
    assertThat(s.selfCheck().keySet()).as("and nothing but them and what the planted credit implies").isSubsetOf(
        "acknowledged-missing", "failed-present", "acknowledged-differs", "credit-never-landed",
        "in-doubt-after-recovery", "balance-differs", "conservation", "credit-overdue");
    assertThat(s.faults()).as("the faults new to the nemesis").containsKeys("stall-writer", "link-faults");
  }

  @Test
  void aRollingRestartOfEveryServer_underLoad_failsNoCallOfAnSdkClient() throws Exception {
    Bank.Summary s = Bank.run(new Bank.Options(ROOT, 30, 4, 4, 24, 11, 0.8, 0.2, 100, 1_500, true, true,
        Path.of("target", "bank-rolling-history.jsonl"), "160m", false));
    System.out.print(s.report());
    assertThat(s.faults()).containsOnlyKeys("restart");
    assertThat(s.faultCount()).as("every server restarted at least once").isGreaterThanOrEqualTo(4);
    assertThat(s.ok()).as("the clients got work done during the restarts").isGreaterThan(50);
    assertThat(s.uncertain()).as("calls whose outcome the SDK could not settle").isZero();
    assertThat(s.failedBySystem()).as("calls refused for anything but the account's own state").isZero();
    assertThat(s.anomalies()).as(s.report()).isEmpty();
  }
}
