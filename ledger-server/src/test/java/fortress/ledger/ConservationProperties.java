package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Random operation sequences, sent as one SubmitBatch each, against a real node. Whatever mix of
 * successes and rejections comes back: credits are conserved (Σ deposits − Σ spent = Σ balances),
 * nothing is ever negative, and the journal verifies. jqwik prints the seed of a failing run.
 */
class ConservationProperties {
  private static final int ACCOUNTS = 4;
  private static TestNode node;

  /** One random operation: kind 0-5, two account indexes, an amount, a hold index, and a flag. */
  record Action(int kind, int a, int b, long amount, int hold, boolean partial) {}

  private static synchronized TestNode node() {
    if (node == null) {
      node = new TestNode();
    }
    return node;
  }

  @AfterContainer
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Provide
  Arbitrary<List<Action>> actions() {
    Arbitrary<Action> action = Combinators.combine(
        Arbitraries.integers().between(0, 5),
        Arbitraries.integers().between(0, ACCOUNTS - 1),
        Arbitraries.integers().between(0, ACCOUNTS - 1),
        Arbitraries.longs().between(1, 200),
        Arbitraries.integers().between(0, 20),
        Arbitraries.of(true, false)).as(Action::new);
    return action.list().ofMinSize(1).ofMaxSize(60);
  }

  @Property(tries = 40)
  void randomOperations_conserveCreditsAndNeverGoNegative(@ForAll("actions") List<Action> actions) {
    String tenant = "prop-" + TestNode.id().substring(0, 12);
    for (int i = 0; i < ACCOUNTS; i++) {
      node().open(tenant, "acct-" + i, 0);
    }
    long deposited = 0;
    long spent = 0;
    List<String> holds = new ArrayList<>();
    List<Long> holdAmounts = new ArrayList<>();
    // Holds only exist after their batch returns, so send in slices, each referring to earlier holds.
    for (int from = 0; from < actions.size(); from += 10) {
      List<Action> slice = actions.subList(from, Math.min(actions.size(), from + 10));
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      List<Action> sent = new ArrayList<>();
      for (Action act : slice) {
        BatchOperation op = toOperation(tenant, act, holds, holdAmounts);
        if (op != null) {
          batch.addOperations(op);
          sent.add(act);
        }
      }
      if (batch.getOperationsCount() == 0) {
        continue;
      }
      List<BatchResult> results = node().stub().submitBatch(batch.build()).getResultsList();
      assertThat(results).hasSize(sent.size());
      for (int i = 0; i < results.size(); i++) {
        BatchResult r = results.get(i);
        Action act = sent.get(i);
        switch (r.getResultCase()) {
          case DEPOSIT -> {
            deposited += act.amount();
            assertSane(r.getDeposit().getAccount());
          }
          case CONSUME -> {
            spent += act.amount();
            assertSane(r.getConsume().getAccount());
          }
          case TRANSFER -> {
            assertSane(r.getTransfer().getFromAccount());
            assertSane(r.getTransfer().getToAccount());
          }
          case CREATE_HOLD -> {
            holds.add(r.getCreateHold().getHold().getHoldId());
            holdAmounts.add(act.amount());
            assertSane(r.getCreateHold().getAccount());
          }
          case CAPTURE_HOLD -> {
            spent += r.getCaptureHold().getHold().getCapturedAmount();
            assertSane(r.getCaptureHold().getAccount());
          }
          case RELEASE_HOLD -> assertSane(r.getReleaseHold().getAccount());
          case ERROR -> assertThat(r.getError().getReason()).isIn("INSUFFICIENT_FUNDS", "HOLD_NOT_ACTIVE");
          default -> throw new AssertionError("unexpected result " + r);
        }
      }
    }
    long balances = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
      Account a = node().account(tenant, "acct-" + i);
      assertSane(a);
      balances += a.getBalance();
    }
    assertThat(balances).as("Σ deposits − Σ spent = Σ balances").isEqualTo(deposited - spent);
    assertThat(node().stub().verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
  }

  private static void assertSane(Account a) {
    assertThat(a.getBalance()).isNotNegative();
    assertThat(a.getHeld()).isNotNegative();
    assertThat(a.getAvailable()).isNotNegative().isEqualTo(a.getBalance() - a.getHeld());
  }

  private static BatchOperation toOperation(String tenant, Action act, List<String> holds, List<Long> amounts) {
    String a = "acct-" + act.a();
    String b = "acct-" + act.b();
    BatchOperation.Builder op = BatchOperation.newBuilder();
    switch (act.kind()) {
      case 0 -> op.setDeposit(DepositRequest.newBuilder().setRequestId(TestNode.id()).setTenantId(tenant)
          .setAccountId(a).setAmount(act.amount()));
      case 1 -> op.setConsume(ConsumeRequest.newBuilder().setRequestId(TestNode.id()).setTenantId(tenant)
          .setAccountId(a).setAmount(act.amount()));
      case 2 -> {
        if (a.equals(b)) {
          return null;
        }
        op.setTransfer(TransferRequest.newBuilder().setRequestId(TestNode.id()).setTenantId(tenant)
            .setFromAccountId(a).setToAccountId(b).setAmount(act.amount()));
      }
      case 3 -> op.setCreateHold(CreateHoldRequest.newBuilder().setRequestId(TestNode.id()).setTenantId(tenant)
          .setAccountId(a).setAmount(act.amount()).setTimeoutSeconds(3600));
      case 4 -> {
        if (holds.isEmpty()) {
          return null;
        }
        int h = act.hold() % holds.size();
        CaptureHoldRequest.Builder capture = CaptureHoldRequest.newBuilder().setRequestId(TestNode.id())
            .setTenantId(tenant).setHoldId(holds.get(h));
        if (act.partial()) {
          capture.setAmount(Math.max(1, amounts.get(h) / 2));
        }
        op.setCaptureHold(capture);
      }
      default -> {
        if (holds.isEmpty()) {
          return null;
        }
        op.setReleaseHold(ReleaseHoldRequest.newBuilder().setRequestId(TestNode.id()).setTenantId(tenant)
            .setHoldId(holds.get(act.hold() % holds.size())));
      }
    }
    return op.build();
  }
}
