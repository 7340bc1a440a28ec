package fortress.ledger.twopc;

import static fortress.ledger.Eventually.eventually;
import static fortress.ledger.TestNode.assertInvalid;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.ErrorInfo;
import fortress.ledger.TestCluster;
import fortress.ledger.TestNode;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.Entry;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.ListInDoubtRequest;
import fortress.shard.v1.NodeTotals;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TwoPhaseCommitTest {
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster(3);
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  private static String tenant() {
    return "t-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static ShardServiceGrpc.ShardServiceBlockingStub shard(TestNode node) {
    return ShardServiceGrpc.newBlockingStub(node.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static TransferRequest transfer(String tenant, String from, String to, long amount) {
    return TransferRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setFromAccountId(from)
        .setToAccountId(to).setAmount(amount).setMemo("cross").build();
  }


  static void assertSettled(TestCluster cluster) throws InterruptedException {
    eventually("no transaction in doubt on any node", () -> cluster.nodes().stream().allMatch(
        n -> shard(n).listInDoubt(ListInDoubtRequest.getDefaultInstance()).getTotalCount() == 0));
    long balance = 0, deposited = 0, consumed = 0, debits = 0, credits = 0;
    for (TestNode n : cluster.nodes()) {
      NodeTotals t = cluster.totals(n.server.config().nodeId());
      assertThat(t.getInFlightCredit()).isZero();
      balance += t.getBalance();
      deposited += t.getDeposited();
      consumed += t.getConsumed();
      debits += t.getTransferDebits();
      credits += t.getTransferCredits();
      assertThat(n.stub().verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    }
    assertThat(balance).as("conservation").isEqualTo(deposited - consumed);
    assertThat(debits).as("every debit was credited").isEqualTo(credits);
  }

  @Test
  void crossNodeTransfer_movesCreditsAtomically_andLeavesTheHoldTrail() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 5);

    TransferResponse r = cluster.node("ledger-1").stub().transfer(transfer(t, a, b, 30));

    assertThat(r.getTransferId()).startsWith("tx-");
    assertThat(r.getFromAccount().getBalance()).isEqualTo(70);
    assertThat(r.getFromAccount().getHeld()).isZero();
    assertThat(r.getToAccount().getBalance()).isEqualTo(35);
    eventually("the credit is applied", () -> cluster.account(t, b).getBalance() == 35);
    assertThat(cluster.account(t, a).getAvailable()).isEqualTo(70);
    List<Entry> debitSide = cluster.node("ledger-1").stub().listEntries(ListEntriesRequest.newBuilder()
        .setTenantId(t).setAccountId(a).build()).getEntriesList();
    assertThat(debitSide).extracting(Entry::getKind).containsExactly(EntryKind.ENTRY_KIND_ACCOUNT_CREATED,
        EntryKind.ENTRY_KIND_DEPOSIT, EntryKind.ENTRY_KIND_HOLD_CREATED, EntryKind.ENTRY_KIND_HOLD_RELEASED,
        EntryKind.ENTRY_KIND_TRANSFER_DEBIT);
    assertThat(debitSide.get(4).getTransferId()).isEqualTo(r.getTransferId());
    List<Entry> creditSide = cluster.node("ledger-2").stub().listEntries(ListEntriesRequest.newBuilder()
        .setTenantId(t).setAccountId(b).addKinds(EntryKind.ENTRY_KIND_TRANSFER_CREDIT).build()).getEntriesList();
    assertThat(creditSide).singleElement().satisfies(e -> {
      assertThat(e.getAmount()).isEqualTo(30);
      assertThat(e.getTransferId()).isEqualTo(r.getTransferId());
    });
    assertSettled(cluster);
  }

  @Test
  void retryWithTheSameRequestId_returnsTheOriginal_andMovesOnce() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-2", t, "a", 50);
    String b = cluster.openOn("ledger-3", t, "b", 0);
    TransferRequest request = transfer(t, a, b, 20);

    TransferResponse first = cluster.node("ledger-2").stub().transfer(request);
    TransferResponse again = cluster.node("ledger-2").stub().transfer(request);

    assertThat(again).isEqualTo(first);
    assertThat(cluster.node("ledger-2").stub().getOperation(GetOperationRequest.newBuilder().setTenantId(t)
        .setAccountId(a).setRequestId(request.getRequestId()).build()).getOperation().getTransfer()).isEqualTo(first);
    eventually("the credit is applied", () -> cluster.account(t, b).getBalance() == 20);
    assertThat(cluster.account(t, a).getBalance()).isEqualTo(30);
    assertRejected(() -> cluster.node("ledger-2").stub().transfer(request.toBuilder().setAmount(21).build()),
        Status.Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");
    assertSettled(cluster);
  }

  @Test
  void missingReceiver_votesNo_andTheHoldIsReleased() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-1", t, "a", 40);
    String ghost = cluster.accountOn("ledger-3", t, "ghost");

    assertRejected(() -> cluster.node("ledger-1").stub().transfer(transfer(t, a, ghost, 10)), Status.Code.NOT_FOUND,
        "ACCOUNT_NOT_FOUND");

    Account after = cluster.account(t, a);
    assertThat(after.getBalance()).isEqualTo(40);
    assertThat(after.getHeld()).isZero();
    assertThat(after.getAvailable()).isEqualTo(40);
    assertSettled(cluster);
  }

  @Test
  void insufficientFunds_isRefusedBeforeAnythingIsPrepared() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-3", t, "a", 10);
    String b = cluster.openOn("ledger-1", t, "b", 0);

    assertRejected(() -> cluster.node("ledger-3").stub().transfer(transfer(t, a, b, 11)),
        Status.Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
    assertThat(cluster.account(t, a).getBalance()).isEqualTo(10);
    assertThat(cluster.account(t, b).getBalance()).isZero();
  }

  @Test
  void anAccountOfAnotherNode_isRefusedWithWrongNode_namingTheOwner() {
    String t = tenant();
    String a = cluster.openOn("ledger-1", t, "a", 10);

    ErrorInfo info = assertRejected(() -> cluster.node("ledger-2").stub().consume(ConsumeRequest.newBuilder()
            .setRequestId(id()).setTenantId(t).setAccountId(a).setAmount(1).build()),
        Status.Code.FAILED_PRECONDITION, "WRONG_NODE");

    assertThat(info.getMetadataMap()).containsEntry("owner", "ledger-1").containsEntry("epoch", "1");
    assertThat(cluster.account(t, a).getBalance()).isEqualTo(10);
  }

  @Test
  void submitBatch_mixesLocalAndCrossNodeTransfers_inOrder() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String local = cluster.openOn("ledger-1", t, "l", 0);
    String remote = cluster.openOn("ledger-2", t, "r", 0);
    String foreign = cluster.accountOn("ledger-3", t, "f");

    SubmitBatchResponse r = cluster.node("ledger-1").stub().submitBatch(SubmitBatchRequest.newBuilder()
        .addOperations(BatchOperation.newBuilder().setTransfer(transfer(t, a, remote, 10)))
        .addOperations(BatchOperation.newBuilder().setTransfer(transfer(t, a, local, 20)))
        .addOperations(BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder().setRequestId(id())
            .setTenantId(t).setAccountId(foreign).setAmount(1)))
        .addOperations(BatchOperation.newBuilder().setTransfer(transfer(t, a, remote, 1000)))
        .build());

    assertThat(r.getResults(0).getTransfer().getTransferId()).startsWith("tx-");
    assertThat(r.getResults(1).getTransfer().getTransferId()).startsWith("tr-");
    assertThat(r.getResults(2).getError().getReason()).isEqualTo("WRONG_NODE");
    assertThat(r.getResults(3).getError().getReason()).isEqualTo("INSUFFICIENT_FUNDS");
    eventually("the credit is applied", () -> cluster.account(t, remote).getBalance() == 10);
    assertThat(cluster.account(t, local).getBalance()).isEqualTo(20);
    assertThat(cluster.account(t, a).getBalance()).isEqualTo(70);
    assertSettled(cluster);
  }

  @Test
  void concurrentTransfersInEveryDirection_conserveCredits() throws Exception {
    String t = tenant();
    List<String> accounts = new ArrayList<>();
    for (String node : List.of("ledger-1", "ledger-2", "ledger-3")) {
      for (int i = 0; i < 3; i++) {
        String account = cluster.accountOn(node, t, "acct" + i + "-");
        cluster.open(t, account, 1_000);
        accounts.add(account);
      }
    }
    ExecutorService clients = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> work = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        work.add(clients.submit(() -> {
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int k = 0; k < 40; k++) {
            String from = accounts.get(random.nextInt(accounts.size()));
            String to = accounts.get(random.nextInt(accounts.size()));
            if (from.equals(to)) {
              continue;
            }
            try {
              cluster.owner(t, from).stub().transfer(transfer(t, from, to, 1 + random.nextInt(300)));
            } catch (io.grpc.StatusRuntimeException e) {
              assertThat(e.getStatus().getCode()).as(e.getStatus().toString())
                  .isEqualTo(Status.Code.FAILED_PRECONDITION);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : work) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      clients.shutdownNow();
    }
    assertSettled(cluster);
    long sum = 0;
    for (String account : accounts) {
      Account acc = cluster.account(t, account);
      assertThat(acc.getHeld()).isZero();
      sum += acc.getBalance();
    }
    assertThat(sum).isEqualTo(9 * 1_000);
  }

  /**
   * Presumed abort, recorded: the coordinator answers ABORTED for a txid it never heard of only
   * once it has recorded the abort, so the answer stays ABORTED (a begin of that txid would now be
   * refused), and the participant aborts its leg.
   */
  @Test
  void aPreparedLegTheCoordinatorNeverHeardOf_isPresumedAbortedOnRecord_andAbortedAfterTheInDoubtTimeout()
      throws Exception {
    String t = tenant();
    String b = cluster.openOn("ledger-2", t, "b", 0);
    String txid = "tx-" + UUID.randomUUID();

    shard(cluster.node("ledger-2")).prepare(PrepareRequest.newBuilder().setTxid(txid).setCoordinatorNodeId("ledger-1")
        .setTenantId(t).setAccountId(b).setAmount(5).setRequestId(id()).build());

    for (int asked = 0; asked < 2; asked++) {
      assertThat(shard(cluster.node("ledger-1")).getDecision(GetDecisionRequest.newBuilder().setTxid(txid).build())
          .getDecision()).isEqualTo(Decision.DECISION_ABORTED);
    }
    eventually("the participant asked, was told aborted, and aborted", () -> shard(cluster.node("ledger-2"))
        .listInDoubt(ListInDoubtRequest.getDefaultInstance()).getTransactionsList().stream()
        .noneMatch(x -> x.getTxid().equals(txid)));
    assertRejected(() -> shard(cluster.node("ledger-2")).commit(CommitRequest.newBuilder().setTxid(txid).build()),
        Status.Code.FAILED_PRECONDITION, "TRANSACTION_DECIDED");
    assertThat(cluster.account(t, b).getBalance()).isZero();
  }

  @Test
  void shardService_refusesBadInput_andUnknownTransactions() {
    ShardServiceGrpc.ShardServiceBlockingStub node = shard(cluster.node("ledger-1"));
    String t = tenant();
    String mine = cluster.accountOn("ledger-1", t, "m");
    String theirs = cluster.accountOn("ledger-2", t, "x");
    PrepareRequest good = PrepareRequest.newBuilder().setTxid("tx-" + UUID.randomUUID()).setCoordinatorNodeId("ledger-2")
        .setTenantId(t).setAccountId(mine).setAmount(1).setRequestId(id()).build();

    assertInvalid(() -> node.prepare(good.toBuilder().setTxid("nope").build()), "txid");
    assertInvalid(() -> node.prepare(good.toBuilder().setCoordinatorNodeId("").build()), "coordinator_node_id");
    assertInvalid(() -> node.prepare(good.toBuilder().setAmount(0).build()), "amount");
    assertInvalid(() -> node.prepare(good.toBuilder().setAccountId("").build()), "account_id");
    assertInvalid(() -> node.commit(CommitRequest.newBuilder().setTxid("tx-").build()), "txid");
    assertInvalid(() -> node.getDecision(GetDecisionRequest.getDefaultInstance()), "txid");
    assertInvalid(() -> node.listInDoubt(ListInDoubtRequest.newBuilder().setPageSize(-1).build()), "page_size");
    assertRejected(() -> node.prepare(good.toBuilder().setAccountId(theirs).build()), Status.Code.FAILED_PRECONDITION,
        "WRONG_NODE");
    assertRejected(() -> node.prepare(good), Status.Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
    assertRejected(() -> node.commit(CommitRequest.newBuilder().setTxid("tx-" + UUID.randomUUID()).build()),
        Status.Code.NOT_FOUND, "TRANSACTION_NOT_FOUND");
  }
}
