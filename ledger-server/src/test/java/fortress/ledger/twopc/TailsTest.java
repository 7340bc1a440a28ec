package fortress.ledger.twopc;

import static fortress.ledger.Eventually.eventually;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.TestCluster;
import fortress.ledger.TestNode;
import fortress.ledger.v1.TransferRequest;
import fortress.shard.v1.NodeTotals;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two-phase commit's tails (the participant's credit, the coordinator's DONE record) ride in each
 * node's next batch; with nothing else to ride, they wait a long tail delay here, so the states in
 * between can be read.
 */
class TailsTest {
  private static final long TAIL_MS = 1_000;
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster(2, List.of("--writer-tail-ms=" + TAIL_MS));
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  /**
   * A committed transfer whose participant acknowledged the credit, while its DONE record waits
   * for a ride: the credit is in the receiver's balance, so the coordinator must not count it in
   * flight too, or the cluster reads the credit twice and not conserved.
   */
  @Test
  void anAcknowledgedCredit_whoseDoneRecordWaits_isNotCountedInFlightToo() throws Exception {
    String t = "t-ack";
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    TestNode coordinator = cluster.node("ledger-1");
    long committed = MoneySafetyTest.sqlCount(coordinator, 3);

    TransferRequest transfer = TransferRequest.newBuilder().setRequestId(id()).setTenantId(t).setFromAccountId(a)
        .setToAccountId(b).setAmount(30).build();
    assertThat(coordinator.stub().transfer(transfer).getFromAccount().getBalance()).isEqualTo(70);
    eventually("the receiver holds the credit", () -> cluster.account(t, b).getBalance() == 30);
    eventually("the coordinator counts nothing in flight", () -> {
      NodeTotals totals = cluster.totals("ledger-1");
      return totals.getInFlightCredit() == 0 && totals.getOverdueCredit() == 0;
    });
    assertThat(MoneySafetyTest.sqlCount(coordinator, 3)).as("the DONE record is still waiting")
        .isEqualTo(committed + 1);
    long balance = 0, deposited = 0;
    for (TestNode n : cluster.nodes()) {
      NodeTotals totals = cluster.totals(n.server.config().nodeId());
      balance += totals.getBalance() + totals.getInFlightCredit();
      deposited += totals.getDeposited() - totals.getConsumed();
    }
    assertThat(balance).as("conserved while DONE waits").isEqualTo(deposited);

    eventually("the DONE record lands on its own", () -> MoneySafetyTest.sqlCount(coordinator, 3) == committed);
    TwoPhaseCommitTest.assertSettled(cluster);
  }
}
