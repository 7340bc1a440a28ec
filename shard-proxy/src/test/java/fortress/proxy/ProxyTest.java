package fortress.proxy;

import static fortress.ledger.Eventually.eventually;
import static fortress.ledger.TestNode.assertInvalid;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.GetRingResponse;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.cluster.v1.Ring;
import fortress.cluster.v1.VerifyClusterRequest;
import fortress.cluster.v1.VerifyClusterResponse;
import fortress.core.ring.RingFile;
import fortress.core.rpc.Reflection;
import fortress.core.rpc.TestCalls;
import fortress.ledger.TestCluster;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProxyTest {
  private static TestCluster cluster;
  private static ProxyServer proxy;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    cluster = new TestCluster(3);
    String name = "proxy-" + UUID.randomUUID();
    proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--retry-backoff-ms=10"}, Map.of()), InProcessServerBuilder.forName(name), cluster::connect);
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow();
    proxy.close();
    cluster.close();
  }

  private static LedgerServiceGrpc.LedgerServiceBlockingStub ledger() {
    return LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static ClusterServiceGrpc.ClusterServiceBlockingStub admin() {
    return ClusterServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static String tenant() {
    return "t-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static void open(String tenant, String account, long deposit) {
    ledger().createAccount(CreateAccountRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId(account).build());
    if (deposit > 0) {
      ledger().deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setAccountId(account)
          .setAmount(deposit).build());
    }
  }

  private static long balance(String tenant, String account) {
    return ledger().getAccount(GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId(account).build())
        .getAccount().getBalance();
  }


  /** The proxy connects to every node as it starts, so the first calls do not wait for connections. */
  @Test
  void atStart_theProxyConnectsToEveryNode_beforeAnyCall() throws Exception {
    List<ManagedChannel> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
    String name = "warm-" + UUID.randomUUID();
    try (ProxyServer warm = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--audit-interval-ms=0", "--verify-interval-ms=0"}, Map.of()), InProcessServerBuilder.forName(name), node -> {
          ManagedChannel c = cluster.connect(node);
          opened.add(c);
          return c;
        })) {
      assertThat(opened).hasSize(3);
      eventually("every node's channel is ready", () -> opened.stream()
          .allMatch(c -> c.getState(false) == io.grpc.ConnectivityState.READY));
    }
  }

  @Test
  void aTransferBetweenNodesThroughTheProxy_isAtomic_andTheClusterConserves() throws Exception {
    String t = tenant();
    GetRingResponse ring = admin().getRing(GetRingRequest.newBuilder().setTenantId(t)
        .addAccountIds("alice").addAccountIds("bob").addAccountIds("carol").addAccountIds("dave").build());
    assertThat(ring.getRing().getNodesCount()).isEqualTo(3);
    assertThat(ring.getPlacementsList()).allSatisfy(p ->
        assertThat(p.getNodeId()).isEqualTo(cluster.ring().owner(t, p.getAccountId()).getNodeId()));
    String a = cluster.accountOn("ledger-1", t, "alice-");
    String b = cluster.accountOn("ledger-3", t, "bob-");
    open(t, a, 100);
    open(t, b, 0);

    TransferResponse r = ledger().transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(t)
        .setFromAccountId(a).setToAccountId(b).setAmount(60).build());

    assertThat(r.getFromAccount().getBalance()).isEqualTo(40);
    eventually("credit applied", () -> balance(t, b) == 60);
    eventually("nothing in doubt", () -> admin().listInDoubt(ListInDoubtRequest.getDefaultInstance())
        .getTotalCount() == 0);
    GetClusterTotalsResponse totals = admin().getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
    assertThat(totals.getNodesCount()).isEqualTo(3);
    assertThat(totals.getConserved()).isTrue();
    assertThat(totals.getBalance()).isEqualTo(totals.getDeposited() - totals.getConsumed());
    VerifyClusterResponse verified = admin().verifyCluster(VerifyClusterRequest.getDefaultInstance());
    assertThat(verified.getOk()).as(verified.toString()).isTrue();
    assertThat(verified.getNodesList()).allSatisfy(n -> assertThat(n.getResult().getOk()).isTrue());
    assertThat(ledger().verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
  }

  @Test
  void aTransferToAnotherTenant_isRefusedByDefault_andAtomicWhereTheProxyAllowsIt() throws Exception {
    String payer = tenant();
    String payee = tenant();
    String from = cluster.accountOn("ledger-1", payer, "from");
    String sameNode = cluster.accountOn("ledger-1", payee, "near");
    String otherNode = cluster.accountOn("ledger-2", payee, "far");
    open(payer, from, 100);
    open(payee, sameNode, 0);
    open(payee, otherNode, 0);
    TransferRequest.Builder toPayee = TransferRequest.newBuilder().setTenantId(payer).setFromAccountId(from)
        .setToTenantId(payee).setAmount(10);

    StatusRuntimeException forbidden = fortress.core.rpc.TestCalls.refused(
        () -> ledger().transfer(toPayee.setRequestId(id()).setToAccountId(sameNode).build()));
    assertThat(forbidden.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(fortress.core.rpc.TestCalls.info(forbidden).getReason()).isEqualTo("TENANT_FORBIDDEN");
    assertThat(fortress.core.rpc.TestCalls.info(forbidden).getMetadataMap()).containsEntry("field", "to_tenant_id");
    SubmitBatchResponse batch = ledger().submitBatch(SubmitBatchRequest.newBuilder().addOperations(
        BatchOperation.newBuilder().setTransfer(toPayee.setRequestId(id()).setToAccountId(sameNode))).build());
    assertThat(batch.getResults(0).getError().getReason()).isEqualTo("TENANT_FORBIDDEN");
    assertThat(balance(payer, from)).as("nothing moved while forbidden").isEqualTo(100);

    String name = "cross-tenant-" + UUID.randomUUID();
    try (ProxyServer open = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--cross-tenant-transfers=true"}, Map.of()), InProcessServerBuilder.forName(name), cluster::connect)) {
      ManagedChannel c = InProcessChannelBuilder.forName(name).build();
      try {
        var allowed = LedgerServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
        TransferResponse near = allowed.transfer(toPayee.setRequestId(id()).setToAccountId(sameNode).build());
        TransferResponse far = allowed.transfer(toPayee.setRequestId(id()).setToAccountId(otherNode).build());

        assertThat(near.getToAccount().getTenantId()).isEqualTo(payee);
        assertThat(balance(payee, sameNode)).isEqualTo(10);
        assertThat(far.getTransferId()).as("across nodes: two-phase commit").startsWith("tx-");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (balance(payee, otherNode) != 10 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertThat(balance(payer, from)).isEqualTo(80);
        assertThat(balance(payee, otherNode)).isEqualTo(10);
        assertRejected(() -> allowed.transfer(toPayee.setRequestId(id()).setToAccountId("nobody").build()),
            Status.Code.FAILED_PRECONDITION, "DESTINATION_UNAVAILABLE");
      } finally {
        c.shutdownNow();
      }
    }
  }

  /**
   * With cross-tenant transfers on, a transfer shows the sender nothing of the other tenant: not
   * the credited account's balances (single, batched or looked up later), and not whether an
   * account exists: a missing one, on any node, gets the same answer, and nothing moves.
   */
  @Test
  void aTransferToAnotherTenant_revealsNothingOfItsAccounts() throws Exception {
    String payer = tenant();
    String payee = tenant();
    String from = cluster.accountOn("ledger-1", payer, "from");
    String sameNode = cluster.accountOn("ledger-1", payee, "near");
    String otherNode = cluster.accountOn("ledger-2", payee, "far");
    String missingNear = cluster.accountOn("ledger-1", payee, "ghost-near");
    String missingFar = cluster.accountOn("ledger-3", payee, "ghost-far");
    open(payer, from, 100);
    open(payee, sameNode, 500);
    open(payee, otherNode, 500);
    TransferRequest.Builder toPayee = TransferRequest.newBuilder().setTenantId(payer).setFromAccountId(from)
        .setToTenantId(payee).setAmount(1);
    String name = "cross-tenant-private-" + UUID.randomUUID();
    try (ProxyServer open = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--cross-tenant-transfers=true"}, Map.of()), InProcessServerBuilder.forName(name), cluster::connect)) {
      ManagedChannel c = InProcessChannelBuilder.forName(name).build();
      try {
        var payerStub = LedgerServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
        String nearRequest = id();
        TransferResponse near = payerStub.transfer(toPayee.setRequestId(nearRequest).setToAccountId(sameNode).build());
        TransferResponse far = payerStub.transfer(toPayee.setRequestId(id()).setToAccountId(otherNode).build());
        SubmitBatchResponse batch = payerStub.submitBatch(SubmitBatchRequest.newBuilder()
            .addOperations(BatchOperation.newBuilder().setTransfer(toPayee.setRequestId(id()).setToAccountId(sameNode)))
            .addOperations(BatchOperation.newBuilder().setTransfer(toPayee.setRequestId(id()).setToAccountId(missingFar)))
            .build());
        TransferResponse later = payerStub.getOperation(GetOperationRequest.newBuilder().setTenantId(payer)
            .setAccountId(from).setRequestId(nearRequest).build()).getOperation().getTransfer();

        for (TransferResponse r : List.of(near, far, batch.getResults(0).getTransfer(), later)) {
          assertThat(r.getFromAccount().getTenantId()).isEqualTo(payer);
          assertThat(r.getToAccount()).as("only the identifiers the sender gave")
              .isEqualTo(fortress.ledger.v1.Account.newBuilder().setAccountId(r.getToAccount().getAccountId())
                  .setTenantId(payee).build());
        }
        List<StatusRuntimeException> missing = List.of(
            fortress.core.rpc.TestCalls.refused(() -> payerStub.transfer(
                toPayee.setRequestId(id()).setToAccountId(missingNear).build())),
            fortress.core.rpc.TestCalls.refused(() -> payerStub.transfer(
                toPayee.setRequestId(id()).setToAccountId(missingFar).build())));
        for (StatusRuntimeException e : missing) {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(fortress.core.rpc.TestCalls.info(e).getReason()).isEqualTo("DESTINATION_UNAVAILABLE");
          assertThat(e.getStatus().getDescription()).isEqualTo(missing.get(0).getStatus().getDescription())
              .doesNotContain("ghost");
          assertThat(fortress.core.rpc.TestCalls.info(e).getMetadataMap())
              .isEqualTo(fortress.core.rpc.TestCalls.info(missing.get(0)).getMetadataMap());
        }
        assertThat(batch.getResults(1).getError().getReason()).isEqualTo("DESTINATION_UNAVAILABLE");
        assertThat(batch.getResults(1).getError().getMessage()).isEqualTo(missing.get(0).getStatus().getDescription());
        // Short of funds: the same answer whether the other tenant's account exists or not.
        toPayee.setAmount(1_000);
        assertRejected(() -> payerStub.transfer(toPayee.setRequestId(id()).setToAccountId(missingNear).build()),
            Status.Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
        assertRejected(() -> payerStub.transfer(toPayee.setRequestId(id()).setToAccountId(sameNode).build()),
            Status.Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");

        eventually("the far credit applied", () -> balance(payee, otherNode) == 501);
        assertThat(balance(payer, from)).as("three credits moved, nothing for the refusals").isEqualTo(97);
        assertThat(balance(payee, sameNode)).isEqualTo(502);
        GetClusterTotalsResponse totals = admin().getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
        assertThat(totals.getConserved()).isTrue();
      } finally {
        c.shutdownNow();
      }
    }
  }

  @Test
  void getOperation_findsTheRecordOnTheNodeOfItsAccount_orSaysNotFound() {
    String t = tenant();
    String a = cluster.accountOn("ledger-2", t, "a");
    String request = id();
    ledger().createAccount(CreateAccountRequest.newBuilder().setRequestId(request).setTenantId(t).setAccountId(a)
        .build());

    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(a)
        .setRequestId(request).build()).getOperation().getCreateAccount().getAccount().getAccountId()).isEqualTo(a);
    assertRejected(() -> ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(a)
        .setRequestId(id()).build()), Status.Code.NOT_FOUND, "OPERATION_NOT_FOUND");
    assertInvalid(() -> ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(a).build()),
        "request_id");
    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setRequestId(request).build())
        .getOperation().getCreateAccount().getAccount().getAccountId())
        .as("without a scope, as clients before it ask: found on whichever node has it").isEqualTo(a);
    assertRejected(() -> ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setRequestId(id())
        .build()), Status.Code.NOT_FOUND, "OPERATION_NOT_FOUND");
    assertInvalid(() -> ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setRequestId(request)
        .setAccountId(a).setHoldId("hold-x").build()), "hold_id");
  }

  /**
   * Without a scope, an operation found on one node is the answer only when every node answered:
   * another could hold the same id on another account, so with a node down it is UNAVAILABLE.
   */
  @Test
  void getOperationWithoutAScope_whileANodeIsDown_isUncertain_notTheOneFound() throws Exception {
    String t = tenant();
    String a = cluster.accountOn("ledger-1", t, "a");
    open(t, a, 0);
    String request = id();
    ledger().deposit(DepositRequest.newBuilder().setRequestId(request).setTenantId(t).setAccountId(a).setAmount(3)
        .build());
    GetOperationRequest unscoped = GetOperationRequest.newBuilder().setTenantId(t).setRequestId(request).build();
    cluster.stop("ledger-3");
    try {
      assertThat(catchThrowableOfType(io.grpc.StatusRuntimeException.class, () -> ledger().getOperation(unscoped))
          .getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    } finally {
      cluster.start("ledger-3");
    }
    eventually("every node answers again", () -> {
      try {
        return ledger().getOperation(unscoped).getOperation().getDeposit().getAccount().getBalance() == 3;
      } catch (io.grpc.StatusRuntimeException e) {
        return false;
      }
    });
  }

  /**
   * A request_id belongs to the account its mutation acts on: the same id on two accounts of two
   * nodes is two operations, each found through its own account, and never answered for the other.
   */
  @Test
  void oneRequestIdOnAccountsOfTwoNodes_isTwoOperations_eachFoundThroughItsAccount() {
    String t = tenant();
    String a = cluster.accountOn("ledger-1", t, "a");
    String b = cluster.accountOn("ledger-3", t, "b");
    open(t, a, 0);
    open(t, b, 0);
    String request = id();

    DepositResponse onA = ledger().deposit(DepositRequest.newBuilder().setRequestId(request).setTenantId(t)
        .setAccountId(a).setAmount(5).build());
    DepositResponse onB = ledger().deposit(DepositRequest.newBuilder().setRequestId(request).setTenantId(t)
        .setAccountId(b).setAmount(7).build());

    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(a)
        .setRequestId(request).build()).getOperation().getDeposit()).isEqualTo(onA);
    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(b)
        .setRequestId(request).build()).getOperation().getDeposit()).isEqualTo(onB);
    assertRejected(() -> ledger().deposit(DepositRequest.newBuilder().setRequestId(request).setTenantId(t)
        .setAccountId(a).setAmount(6).build()), Status.Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");
    assertInvalid(() -> ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setRequestId(request)
        .build()), "account_id");
    assertThat(balance(t, a)).isEqualTo(5);
    assertThat(balance(t, b)).isEqualTo(7);

    CreateHoldResponse hold = ledger().createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(t)
        .setAccountId(b).setAmount(2).setTimeoutSeconds(60).build());
    String capture = id();
    CaptureHoldResponse captured = ledger().captureHold(CaptureHoldRequest.newBuilder().setRequestId(capture)
        .setTenantId(t).setHoldId(hold.getHold().getHoldId()).build());
    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t)
        .setHoldId(hold.getHold().getHoldId()).setRequestId(capture).build()).getOperation().getCaptureHold())
        .isEqualTo(captured);
    assertThat(ledger().getOperation(GetOperationRequest.newBuilder().setTenantId(t).setAccountId(b)
        .setRequestId(capture).build()).getOperation().getCaptureHold()).isEqualTo(captured);
  }

  @Test
  void submitBatch_isSplitByNode_andMergedBackInOrder() {
    String t = tenant();
    List<String> accounts = List.of(cluster.accountOn("ledger-1", t, "x"), cluster.accountOn("ledger-2", t, "y"),
        cluster.accountOn("ledger-3", t, "z"));
    SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
    for (String account : accounts) {
      batch.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
          .setRequestId(id()).setTenantId(t).setAccountId(account)));
    }
    for (int i = 0; i < 9; i++) {
      batch.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setRequestId(id())
          .setTenantId(t).setAccountId(accounts.get(i % 3)).setAmount(10 + i)));
    }
    batch.addOperations(BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder().setRequestId(id())
        .setTenantId(t).setAccountId(accounts.get(0)).setAmount(1_000)));
    batch.addOperations(BatchOperation.getDefaultInstance());

    SubmitBatchResponse r = ledger().submitBatch(batch.build());

    assertThat(r.getResultsCount()).isEqualTo(14);
    for (int i = 0; i < 3; i++) {
      assertThat(r.getResults(i).getCreateAccount().getAccount().getAccountId()).isEqualTo(accounts.get(i));
    }
    for (int i = 0; i < 9; i++) {
      assertThat(r.getResults(3 + i).getDeposit().getAccount().getAccountId()).isEqualTo(accounts.get(i % 3));
    }
    assertThat(r.getResults(12).getError().getReason()).isEqualTo("INSUFFICIENT_FUNDS");
    assertThat(r.getResults(13).getError().getReason()).isEqualTo("INVALID_FIELD");
    assertThat(balance(t, accounts.get(0))).isEqualTo(10 + 13 + 16);
    assertInvalid(() -> ledger().submitBatch(SubmitBatchRequest.getDefaultInstance()), "operations");
  }

  @Test
  void holdCalls_routeByTheAccountTheHoldIdCarries() {
    String t = tenant();
    String a = cluster.accountOn("ledger-3", t, "h");
    open(t, a, 50);
    CreateHoldResponse hold = ledger().createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(t)
        .setAccountId(a).setAmount(20).setTimeoutSeconds(60).build());

    ledger().captureHold(CaptureHoldRequest.newBuilder().setRequestId(id()).setTenantId(t)
        .setHoldId(hold.getHold().getHoldId()).setAmount(5).build());

    assertThat(balance(t, a)).isEqualTo(45);
    assertRejected(() -> ledger().captureHold(CaptureHoldRequest.newBuilder().setRequestId(id()).setTenantId(t)
        .setHoldId("hold-unknown").build()), Status.Code.NOT_FOUND, "HOLD_NOT_FOUND");
  }

  /** grpcurl knows only what the proxy's reflection tells it; that is enough to print a refusal's details. */
  @Test
  void aRefusalThroughTheProxy_printsItsReasonThroughReflectionAlone() throws Exception {
    String t = tenant();
    open(t, "main", 70);
    StatusRuntimeException overdraft = TestCalls.refused(() -> ledger().consume(ConsumeRequest.newBuilder()
        .setRequestId(id()).setTenantId(t).setAccountId("main").setAmount(1000).build()));
    assertThat(Reflection.details(channel, overdraft)).singleElement().asString()
        .contains("\"reason\": \"INSUFFICIENT_FUNDS\"", "\"domain\": \"ledger.fortress.dev\"");
    StatusRuntimeException invalid = TestCalls.refused(() -> admin().getRing(GetRingRequest.newBuilder()
        .setTenantId(t).addAccountIds("bad id").build()));
    assertThat(Reflection.details(channel, invalid)).anySatisfy(d -> assertThat(d)
        .contains("google.rpc.BadRequest", "\"field\": \"account_ids[0]\""));
  }

  @Test
  void badInput_getsInvalidArgumentNamingTheField() {
    assertInvalid(() -> ledger().deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId("t")
        .setAccountId("a").setAmount(-5).build()), "amount");
    assertInvalid(() -> ledger().createAccount(CreateAccountRequest.newBuilder().setRequestId(id()).build()),
        "tenant_id");
    assertInvalid(() -> admin().getRing(GetRingRequest.newBuilder().addAccountIds("a").build()), "tenant_id");
    assertInvalid(() -> admin().getRing(GetRingRequest.newBuilder().setTenantId("t").addAccountIds("bad id")
        .build()), "account_ids[0]");
    assertInvalid(() -> admin().listInDoubt(ListInDoubtRequest.newBuilder().setPageSize(-1).build()), "page_size");
  }

  @Test
  void aDeadlineTooShortForTheCall_endsAsDeadlineExceeded() {
    io.grpc.StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(
        io.grpc.StatusRuntimeException.class,
        () -> LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.NANOSECONDS)
            .verifyJournal(VerifyJournalRequest.getDefaultInstance()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void aProxyWithAStaleRing_isToldWrongNode_refreshesAndRetries() throws Exception {
    Path stale = Files.createTempFile("ring", ".txtpb");
    Ring full = cluster.ring().spec();
    RingFile.write(stale, Ring.newBuilder().setEpoch(1).addNodes(full.getNodes(0)).build());
    String name = "stale-proxy-" + UUID.randomUUID();
    try (ProxyServer staleProxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + stale},
        Map.of()), InProcessServerBuilder.forName(name), cluster::connect)) {
      ManagedChannel c = InProcessChannelBuilder.forName(name).build();
      String t = tenant();
      String onTwo = cluster.accountOn("ledger-2", t, "w");
      RingFile.write(stale, full.toBuilder().setEpoch(2).build());
      Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() + 5_000));

      LedgerServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS).createAccount(
          CreateAccountRequest.newBuilder().setRequestId(id()).setTenantId(t).setAccountId(onTwo).build());

      assertThat(cluster.node("ledger-2").account(t, onTwo).getAccountId()).isEqualTo(onTwo);
      c.shutdownNow();
    } finally {
      Files.delete(stale);
    }
  }

  @Test
  void aNodeThatIsDown_givesUnavailableWithAReason_whileOthersServe() throws Exception {
    String t = tenant();
    String onTwo = cluster.accountOn("ledger-2", t, "d");
    String onOne = cluster.accountOn("ledger-1", t, "u");
    open(t, onTwo, 5);
    cluster.stop("ledger-2");
    try {
      assertRejected(() -> balance(t, onTwo), Status.Code.UNAVAILABLE, "NODE_UNAVAILABLE");
      open(t, onOne, 7);
      assertThat(balance(t, onOne)).isEqualTo(7);
      assertRejected(() -> admin().getClusterTotals(GetClusterTotalsRequest.getDefaultInstance()),
          Status.Code.UNAVAILABLE, "NODE_UNAVAILABLE");
      assertThat(admin().listInDoubt(ListInDoubtRequest.getDefaultInstance()).getUnreachableNodesList())
          .singleElement().asString().startsWith("ledger-2: ");
    } finally {
      cluster.start("ledger-2");
    }
    assertThat(balance(t, onTwo)).isEqualTo(5);
  }
}
