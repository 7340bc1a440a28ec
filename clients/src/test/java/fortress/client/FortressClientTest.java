package fortress.client;

import static fortress.ledger.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.client.FaultyLink.Fault;
import fortress.ledger.TestCluster;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.Operation;
import fortress.ledger.v1.TransferResponse;
import fortress.proxy.ProxyConfig;
import fortress.proxy.ProxyServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** FortressClient against three real ledger nodes behind the shard proxy, through a link that can fail. */
class FortressClientTest {
  private static TestCluster cluster;
  private static ProxyServer proxy;
  private static ManagedChannel toProxy;
  private static FaultyLink link;
  private static ManagedChannel toLink;

  private FortressClient client;

  @BeforeAll
  static void start() throws Exception {
    cluster = new TestCluster(3);
    String name = "proxy-" + UUID.randomUUID();
    proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile()}, Map.of()),
        InProcessServerBuilder.forName(name), cluster::connect);
    toProxy = InProcessChannelBuilder.forName(name).build();
    link = new FaultyLink(toProxy);
    toLink = link.connect();
  }

  @AfterAll
  static void stop() throws Exception {
    toLink.shutdownNow();
    link.close();
    toProxy.shutdownNow();
    proxy.close();
    cluster.close();
  }

  private FortressClient client(int maxAttempts) {
    client = FortressClient.forChannel(toLink).tenant("t-" + UUID.randomUUID().toString().substring(0, 8))
        .callTimeout(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(20)).maxAttempts(maxAttempts)
        .backoff(Duration.ofMillis(10), Duration.ofMillis(100)).build();
    return client;
  }

  private FortressClient client() {
    return client(5);
  }

  @AfterEach
  void heal() {
    link.heal();
    client.close();
  }

  private String open(FortressClient c, String node, String prefix, long deposit) {
    String account = cluster.accountOn(node, c.tenant(), prefix);
    c.createAccount(account);
    if (deposit > 0) {
      c.deposit(account, deposit);
    }
    return account;
  }

  @Test
  void everyLedgerCall_worksThroughTheProxy_acrossNodes() throws Exception {
    FortressClient c = client();
    String alice = open(c, "ledger-1", "alice-", 100);
    String bob = open(c, "ledger-2", "bob-", 0);
    assertThat(c.placements(alice, bob)).containsExactly(Map.entry(alice, "ledger-1"), Map.entry(bob, "ledger-2"));

    TransferResponse moved = c.transfer(alice, bob, 60);
    assertThat(moved.getFromAccount().getBalance()).isEqualTo(40);
    eventually("credit on the other node", () -> c.getAccount(bob).getBalance() == 60);

    CreateHoldResponse hold = c.createHold(alice, 30, Duration.ofMinutes(1));
    assertThat(c.getAccount(alice).getAvailable()).isEqualTo(10);
    c.captureHold(hold.getHold().getHoldId(), 20);
    Account after = c.getAccount(alice);
    assertThat(after.getBalance()).isEqualTo(20);
    assertThat(after.getHeld()).isZero();
    String released = c.createHold(bob, 5, Duration.ofMinutes(1)).getHold().getHoldId();
    assertThat(c.releaseHold(released).getAccount().getHeld()).isZero();
    assertThat(c.consume(bob, 10).getAccount().getBalance()).isEqualTo(50);

    assertThat(c.listEntries(ListEntriesRequest.newBuilder().setAccountId(alice)
        .addKinds(EntryKind.ENTRY_KIND_TRANSFER_DEBIT).build()).getEntriesList())
        .singleElement().satisfies(e -> assertThat(e.getAmount()).isEqualTo(60));
    // One reading can race a cross-node transfer finishing between the nodes; the contract says read again.
    eventually("conserved", () -> c.clusterTotals().getConserved());
  }

  @Test
  void eachCallGetsItsOwnRequestId_andAGivenOneIsKept() {
    FortressClient c = client();
    String a = open(c, "ledger-3", "a-", 0);
    c.deposit(a, 10);
    c.deposit(a, 10);
    assertThat(c.getAccount(a).getBalance()).as("two calls, two deposits").isEqualTo(20);

    String id = UUID.randomUUID().toString();
    DepositRequest request = DepositRequest.newBuilder().setRequestId(id).setAccountId(a).setAmount(5).build();
    DepositResponse first = c.deposit(request);
    DepositResponse again = c.deposit(request);
    assertThat(again).isEqualTo(first);
    assertThat(c.getAccount(a).getBalance()).isEqualTo(25);
    assertThat(c.getOperation(a, id)).get().extracting(Operation::getDeposit).isEqualTo(first);
    assertThat(c.getOperation(a, UUID.randomUUID().toString())).isEmpty();
  }

  @Test
  void aLostResponse_isResolvedThroughGetOperation_andAppliesOnce() {
    FortressClient c = client();
    String a = open(c, "ledger-1", "a-", 0);
    int deposits = link.calls(LedgerServiceGrpc.getDepositMethod());
    int lookups = link.calls(LedgerServiceGrpc.getGetOperationMethod());
    link.failNext(LedgerServiceGrpc.getDepositMethod(), Fault.LOSE_RESPONSE, 1);

    DepositResponse r = c.deposit(a, 70);

    assertThat(r.getAccount().getBalance()).isEqualTo(70);
    assertThat(c.getAccount(a).getBalance()).isEqualTo(70);
    assertThat(link.calls(LedgerServiceGrpc.getGetOperationMethod()) - lookups).isEqualTo(1);
    assertThat(link.calls(LedgerServiceGrpc.getDepositMethod()) - deposits).as("found, so not sent again")
        .isEqualTo(1);
  }

  @Test
  void aHungCrossNodeTransfer_timesOut_andIsRetriedWithTheSameId() throws Exception {
    FortressClient c = client();
    String from = open(c, "ledger-2", "from-", 100);
    String to = open(c, "ledger-3", "to-", 0);
    link.failNext(LedgerServiceGrpc.getTransferMethod(), Fault.HANG, 1);

    TransferResponse r = c.transfer(from, to, 40);

    assertThat(r.getFromAccount().getBalance()).isEqualTo(60);
    eventually("credit applied", () -> c.getAccount(to).getBalance() == 40);
    assertThat(c.getAccount(from).getBalance()).as("debited once").isEqualTo(60);
    // One reading can race a cross-node transfer finishing between the nodes; the contract says read again.
    eventually("conserved", () -> c.clusterTotals().getConserved());
  }

  @Test
  void aRefusedCall_isSentAgain() {
    FortressClient c = client();
    String a = open(c, "ledger-1", "a-", 50);
    int before = link.calls(LedgerServiceGrpc.getConsumeMethod());
    link.failNext(LedgerServiceGrpc.getConsumeMethod(), Fault.REFUSE, 2);

    assertThat(c.consume(a, 20).getAccount().getBalance()).isEqualTo(30);
    assertThat(link.calls(LedgerServiceGrpc.getConsumeMethod()) - before).isEqualTo(3);
  }

  @Test
  void whenEveryAttemptIsLost_theOutcomeIsUnknown_andNamesTheRequestId() {
    FortressClient c = client(3);
    String a = open(c, "ledger-2", "a-", 0);
    link.failNext(LedgerServiceGrpc.getDepositMethod(), Fault.LOSE_RESPONSE, 100);
    link.failNext(LedgerServiceGrpc.getGetOperationMethod(), Fault.REFUSE, 100);

    OutcomeUnknownException e = catchThrowableOfType(OutcomeUnknownException.class, () -> c.deposit(a, 9));

    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.requestId()).isNotEmpty();
    assertThat(e.getMessage()).contains(e.requestId());
    link.heal();
    assertThat(c.getOperation(a, e.requestId())).as("it did take effect").isPresent();
    assertThat(c.getAccount(a).getBalance()).isEqualTo(9);
  }

  @Test
  void rejections_areTypedExceptionsWithTheReason_andAreNotRetried() {
    FortressClient c = client();
    String a = open(c, "ledger-3", "a-", 10);
    int consumes = link.calls(LedgerServiceGrpc.getConsumeMethod());

    FailedPreconditionException poor = catchThrowableOfType(FailedPreconditionException.class,
        () -> c.consume(a, 11));
    assertThat(poor.is(ErrorReason.INSUFFICIENT_FUNDS)).as(poor.getMessage()).isTrue();
    assertThat(poor.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(link.calls(LedgerServiceGrpc.getConsumeMethod()) - consumes).isEqualTo(1);
    assertThat(c.getAccount(a).getBalance()).isEqualTo(10);

    InvalidArgumentException bad = catchThrowableOfType(InvalidArgumentException.class,
        () -> c.createAccount("not valid!"));
    assertThat(bad.is(ErrorReason.INVALID_FIELD)).as(bad.getMessage()).isTrue();
    assertThat(bad.field()).isEqualTo("account_id");

    NotFoundException missing = catchThrowableOfType(NotFoundException.class, () -> c.getAccount("nobody"));
    assertThat(missing.is(ErrorReason.ACCOUNT_NOT_FOUND)).as(missing.getMessage()).isTrue();

    String id = UUID.randomUUID().toString();
    c.consume(ConsumeRequest.newBuilder().setRequestId(id).setAccountId(a).setAmount(1).build());
    AlreadyExistsException reused = catchThrowableOfType(AlreadyExistsException.class,
        () -> c.consume(ConsumeRequest.newBuilder().setRequestId(id).setAccountId(a).setAmount(2).build()));
    assertThat(reused.is(ErrorReason.REQUEST_ID_REUSED)).as(reused.getMessage()).isTrue();
    assertThat(reused.requestId()).isEqualTo(id);
    assertThat(c.getAccount(a).getBalance()).isEqualTo(9);
  }

  @Test
  void aBatch_getsIdsAndTenant_andALostBatchIsSentAgainWithTheSameIds() {
    FortressClient c = client();
    String a = open(c, "ledger-1", "a-", 0);
    String b = open(c, "ledger-2", "b-", 0);
    int before = link.calls(LedgerServiceGrpc.getSubmitBatchMethod());
    link.failNext(LedgerServiceGrpc.getSubmitBatchMethod(), Fault.LOSE_RESPONSE, 1);

    List<BatchResult> results = c.submitBatch(List.of(
        BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setAccountId(a).setAmount(7)).build(),
        BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setAccountId(b).setAmount(8)).build(),
        BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder().setAccountId(b).setAmount(100)).build()))
        .getResultsList();

    assertThat(link.calls(LedgerServiceGrpc.getSubmitBatchMethod()) - before).isEqualTo(2);
    assertThat(results).hasSize(3);
    assertThat(results.get(0).getDeposit().getAccount().getBalance()).isEqualTo(7);
    assertThat(results.get(1).getDeposit().getAccount().getBalance()).isEqualTo(8);
    // The lost attempt may have taken the consume; a refusal of the second attempt does not settle
    // that, so the client reports the outcome as unknown, with the refusal as its last error.
    assertThat(results.get(2).getError().getReason()).isEqualTo(ErrorReason.OUTCOME_UNKNOWN.name());
    assertThat(results.get(2).getError().getMessage()).contains("INSUFFICIENT_FUNDS");
    assertThat(c.getAccount(a).getBalance()).as("applied once").isEqualTo(7);
    assertThat(c.getAccount(b).getBalance()).isEqualTo(8);
  }

  @Test
  void readsRetry_thenGiveUpAsUnavailable() {
    FortressClient c = client(3);
    String a = open(c, "ledger-3", "a-", 4);
    link.failNext(LedgerServiceGrpc.getGetAccountMethod(), Fault.REFUSE, 2);
    assertThat(c.getAccount(a).getBalance()).isEqualTo(4);

    link.failNext(LedgerServiceGrpc.getGetAccountMethod(), Fault.REFUSE, 3);
    UnavailableException e = catchThrowableOfType(UnavailableException.class, () -> c.getAccount(a));
    assertThat(e).isNotInstanceOf(OutcomeUnknownException.class);
    assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void theBuilder_refusesBadSettings() {
    client = FortressClient.forChannel(toLink).tenant("t").build();
    assertThatThrownBy(() -> FortressClient.forChannel(toLink).build()).hasMessageContaining("tenant");
    assertThatThrownBy(() -> FortressClient.forTarget(" ")).hasMessageContaining("target");
    assertThatThrownBy(() -> FortressClient.forChannel(toLink).maxAttempts(0)).hasMessageContaining("maxAttempts");
    assertThatThrownBy(() -> FortressClient.forChannel(toLink).callTimeout(Duration.ZERO))
        .hasMessageContaining("callTimeout");
    assertThatThrownBy(() -> FortressClient.forChannel(toLink).backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("below");
  }
}
