package fortress.ledger.twopc;

import static fortress.ledger.Eventually.eventually;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.TestCluster;
import fortress.ledger.TestNode;
import fortress.ledger.v1.TransferRequest;
import fortress.shard.v1.NodeTotals;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
    assertConserved("while DONE waits");

    eventually("the DONE record lands on its own", () -> MoneySafetyTest.sqlCount(coordinator, 3) == committed);
    TwoPhaseCommitTest.assertSettled(cluster);
  }

  /**
   * The coordinator's database refuses the DONE record (a trigger here, as a storage refusal
   * would): the transaction stays acknowledged, so GetTotals never counts the credit in flight
   * while the receiver holds it; once the database takes writes again, recovery's Commit is
   * acknowledged anew and DONE lands.
   */
  @Test
  void aRefusedDoneRecord_leavesTheCreditCountedOnce_andLandsOnceTheDatabaseTakesIt() throws Exception {
    String t = "t-refused";
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    TestNode coordinator = cluster.node("ledger-1");
    long committed = MoneySafetyTest.sqlCount(coordinator, 3);
    sql(coordinator, """
        CREATE FUNCTION refuse_done() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'DONE refused'; END $$;
        CREATE TRIGGER refuse_done BEFORE UPDATE ON tpc_coordinator FOR EACH ROW
        WHEN (NEW.state = 5) EXECUTE FUNCTION refuse_done();
        """);
    try {
      coordinator.stub().transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(t).setFromAccountId(a)
          .setToAccountId(b).setAmount(25).build());
      eventually("the receiver holds the credit", () -> cluster.account(t, b).getBalance() == 25);
      // The DONE tail waits a second and is refused; recovery re-sends Commit every few hundred ms.
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * TAIL_MS);
      while (System.nanoTime() < until) {
        assertConserved("while the database refuses DONE");
        Thread.sleep(50);
      }
      assertThat(MoneySafetyTest.sqlCount(coordinator, 3)).as("DONE was refused").isEqualTo(committed + 1);
    } finally {
      sql(coordinator, "DROP TRIGGER refuse_done ON tpc_coordinator; DROP FUNCTION refuse_done()");
    }
    eventually("the DONE record lands", () -> MoneySafetyTest.sqlCount(coordinator, 3) == committed);
    TwoPhaseCommitTest.assertSettled(cluster);
  }

  private static void assertConserved(String when) {
    long balance = 0, deposited = 0;
    for (TestNode n : cluster.nodes()) {
      NodeTotals totals = cluster.totals(n.server.config().nodeId());
      balance += totals.getBalance() + totals.getInFlightCredit() + totals.getOverdueCredit();
      deposited += totals.getDeposited() - totals.getConsumed();
    }
    assertThat(balance).as("conserved " + when).isEqualTo(deposited);
  }

  private static void sql(TestNode node, String statements) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute(statements);
    }
  }
}
