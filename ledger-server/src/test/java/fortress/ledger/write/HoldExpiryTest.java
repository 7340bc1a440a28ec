package fortress.ledger.write;

import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.LedgerConfig;
import fortress.ledger.TestNode;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import io.grpc.Status.Code;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HoldExpiryTest {
  @Test
  void hold_pastTimeout_releasedBySweeperExactlyOnce() throws Exception {
    try (TestNode node = new TestNode(c -> LedgerConfig.parse(new String[] {"--hold-sweep-interval-ms=100"}, Map.of())
        .withJdbc(c.jdbcUrl(), "postgres", "").withKeys(c.journalKey(), c.cardKey()))) {
      node.open("exp", "a", 100);
      String holdId = node.stub.createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId("exp")
          .setAccountId("a").setAmount(40).setTimeoutSeconds(1).build()).getHold().getHoldId();
      assertThat(node.account("exp", "a").getAvailable()).isEqualTo(60);
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (node.account("exp", "a").getHeld() != 0 && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(node.account("exp", "a").getHeld()).isZero();
      assertThat(node.account("exp", "a").getBalance()).isEqualTo(100);
      assertRejected(() -> node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id())
          .setTenantId("exp").setHoldId(holdId).build()), Code.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE");
      Thread.sleep(500);
      assertThat(node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId("exp").setAccountId("a")
          .addKinds(EntryKind.ENTRY_KIND_HOLD_EXPIRED).build()).getEntriesCount()).isEqualTo(1);
      assertThat(node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    }
  }
}
