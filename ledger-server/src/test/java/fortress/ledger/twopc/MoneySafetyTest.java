package fortress.ledger.twopc;

import static fortress.ledger.Eventually.eventually;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.Stall;
import fortress.ledger.TestCluster;
import fortress.ledger.TestNode;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The money-safety defects of two-phase commit and idempotency, each as its scenario against real
 * nodes on real PostgreSQL: a stalled coordinator whose recovery raced the live decision, a
 * GetOperation that read two snapshots, a SubmitBatch that ran a cross-node transfer ahead of the
 * operations before it, a request_id reused while a transfer was undecided, and recovery starved
 * by stuck transactions.
 */
class MoneySafetyTest {
  private static final long PREPARE_TIMEOUT_MS = 1_000;
  private static final long IN_FLIGHT_BOUND_MS = 3_000;
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    // A small writer queue, so a stalled writer fills it and refuses (WRITER_QUEUE_FULL).
    cluster = new TestCluster(3, List.of("--prepare-timeout-ms=" + PREPARE_TIMEOUT_MS, "--writer-batch-size-max=10",
        "--writer-queue-depth-max=20", "--batch-operations-max=10", "--shutdown-grace-ms=0",
        "--in-flight-bound-ms=" + IN_FLIGHT_BOUND_MS));
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  @AfterEach
  void heal() throws Exception {
    cluster.links().heal();
    TwoPhaseCommitTest.assertSettled(cluster);
  }

  private static String tenant() {
    return "t-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static TransferRequest transfer(String tenant, String from, String to, long amount) {
    return TransferRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setFromAccountId(from)
        .setToAccountId(to).setAmount(amount).build();
  }

  private static LedgerServiceGrpc.LedgerServiceFutureStub async(TestNode node) {
    return LedgerServiceGrpc.newFutureStub(node.channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  /** Transactions this node coordinates in the given state (by the number of TransactionState). */
  private static long coordinated(TestNode node, int state) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
        PreparedStatement s = c.prepareStatement("SELECT count(*) FROM tpc_coordinator WHERE state = ?")) {
      s.setInt(1, state);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Defect 1. The coordinator's writer stalls after the participant voted yes, so the commit
   * decision waits in its queue; the queue fills up. Recovery must not abort a transaction this
   * process is driving, and must send Abort only when an abort is the decision in force: here the
   * commit lands once the stall ends, so the credit must reach the receiver.
   */
  @Test
  void aCoordinatorStalledPastItsTimeouts_neverAbortsTheLegOfATransferItCommits() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-1");
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    String filler = cluster.openOn("ledger-1", t, "f", 0);
    long preparingBefore = coordinated(coordinator, 1);

    Future<TransferResponse> sent;
    Stall stalledCoordinator;
    try (Stall participant = Stall.of(cluster.node("ledger-2"))) {
      sent = async(coordinator).transfer(transfer(t, a, b, 30));
      eventually("the coordinator recorded PREPARING", () -> sqlCount(coordinator, 1) > preparingBefore);
      stalledCoordinator = Stall.of(coordinator);
    } // the participant votes yes now; the coordinator's decision waits behind its stalled writer
    Thread.sleep(300);
    List<Future<?>> fillers = fillQueue(coordinator, t, filler);
    Thread.sleep(4 * PREPARE_TIMEOUT_MS);
    stalledCoordinator.close();

    TransferResponse done = sent.get(60, TimeUnit.SECONDS);
    assertThat(done.getFromAccount().getBalance()).isEqualTo(70);
    awaitAppliedOrRefused(fillers);
    eventually("the committed credit reached the receiver", () -> cluster.account(t, b).getBalance() == 30);
  }

  /** Legs this node received as participant in the given state (by the number of TransactionState). */
  private static long legs(TestNode node, int state) {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
        PreparedStatement s = c.prepareStatement("SELECT count(*) FROM tpc_participant WHERE state = ?")) {
      s.setInt(1, state);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Prepare goes out while the coordinator's begin is still on its way to the disk. Here the
   * coordinator's database stalls, so its begin waits in the writer while the participant prepares,
   * votes yes and, past its in-doubt timeout, asks GetDecision, again and again. Answered from a
   * read ("no record": presumed abort), the participant would abort its leg, and the coordinator,
   * once its begin landed with a yes vote in hand, would commit: the debit taken, the credit
   * refused, lost. The coordinator instead records the presumed abort through its writer, behind
   * the queued begin, so it answers PENDING while the begin waits, and the transfer commits on both
   * sides.
   */
  @Test
  void getDecisionWhileTheBeginIsStalled_neverAbortsALegTheCoordinatorThenCommits() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-1");
    TestNode participant = cluster.node("ledger-2");
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    long preparedBefore = legs(participant, 2);
    long abortedBefore = legs(participant, 4);

    Future<TransferResponse> sent;
    try (Stall stalled = Stall.of(coordinator)) {
      sent = async(coordinator).transfer(transfer(t, a, b, 30));
      eventually("the participant prepared the leg", () -> legs(participant, 2) > preparedBefore);
      // The participant's in-doubt timeout (500 ms) passes several times; it asks GetDecision each round.
      Thread.sleep(2_500);
      assertThat(legs(participant, 4)).as("legs aborted while the begin waits").isEqualTo(abortedBefore);
    }

    TransferResponse done = sent.get(60, TimeUnit.SECONDS);
    assertThat(done.getFromAccount().getBalance()).isEqualTo(70);
    eventually("the committed credit reached the receiver", () -> cluster.account(t, b).getBalance() == 30);
    assertThat(legs(participant, 4)).isEqualTo(abortedBefore);
  }

  /**
   * Defect 1, at start-up. A node that stopped while a transfer waited for its vote left it
   * PREPARING; when the node reports SERVING again, start-up recovery has already aborted it, so
   * it cannot race a transfer that live traffic begins.
   */
  @Test
  void aRestartedCoordinator_reportsServingOnlyAfterItsStartUpRecovery() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-3", t, "a", 100);
    String b = cluster.openOn("ledger-1", t, "b", 0);
    long preparingBefore = sqlCount(cluster.node("ledger-3"), 1);

    try (Stall participant = Stall.of(cluster.node("ledger-1"))) {
      async(cluster.node("ledger-3")).transfer(transfer(t, a, b, 10));
      eventually("the coordinator recorded PREPARING", () -> sqlCount(cluster.node("ledger-3"), 1) > preparingBefore);
      cluster.stop("ledger-3");
    }
    TestNode restarted = cluster.start("ledger-3");

    assertThat(coordinated(restarted, 1)).as("PREPARING transactions once SERVING").isEqualTo(preparingBefore);
    assertThat(restarted.account(t, a).getHeld()).isZero();
    assertThat(restarted.account(t, a).getBalance()).isEqualTo(100);
  }

  /**
   * In flight is honest: a committed credit that cannot reach its participant (every Commit and
   * GetDecision between the two nodes lost) is in flight up to the bound, then overdue: marked so
   * in ListInDoubt and counted apart in the totals, never as conserved. It lands once the link heals.
   */
  @Test
  void aCommittedCreditThatCannotLand_isOverduePastTheBound_notInFlight() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-3");
    String a = cluster.openOn("ledger-3", t, "a", 100);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    cluster.links().drop("ledger-3", "ledger-2", "Commit");
    cluster.links().drop("ledger-3", "ledger-2", "CommitLegs");
    cluster.links().drop("ledger-2", "ledger-3", "GetDecision");

    TransferResponse r = coordinator.stub().transfer(transfer(t, a, b, 25));

    fortress.shard.v1.ShardServiceGrpc.ShardServiceBlockingStub shard =
        fortress.shard.v1.ShardServiceGrpc.newBlockingStub(coordinator.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    java.util.function.Supplier<fortress.shard.v1.InDoubtTransaction> listed = () -> shard
        .listInDoubt(fortress.shard.v1.ListInDoubtRequest.getDefaultInstance()).getTransactionsList().stream()
        .filter(x -> x.getTxid().equals(r.getTransferId())).findFirst().orElseThrow();
    assertThat(listed.get().getOverdue()).as("within the bound").isFalse();
    assertThat(cluster.totals("ledger-3").getInFlightCredit()).isGreaterThanOrEqualTo(25);
    eventually("the credit is overdue past the bound", () -> listed.get().getOverdue());
    fortress.shard.v1.NodeTotals totals = cluster.totals("ledger-3");
    assertThat(totals.getOverdueCredit()).isGreaterThanOrEqualTo(25);
    assertThat(shard.listInDoubt(fortress.shard.v1.ListInDoubtRequest.getDefaultInstance()).getOverdueCount())
        .isPositive();
    assertThat(cluster.account(t, b).getBalance()).as("the credit has not landed").isZero();

    cluster.links().heal();
    eventually("the credit lands once the link heals", () -> cluster.account(t, b).getBalance() == 25);
  }

  /** More deposits than a stalled writer's queue holds: the rest are refused with WRITER_QUEUE_FULL. */
  private static List<Future<?>> fillQueue(TestNode node, String tenant, String account) {
    List<Future<?>> fillers = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      fillers.add(async(node).deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
          .setAccountId(account).setAmount(1).build()));
    }
    return fillers;
  }

  private static void awaitAppliedOrRefused(List<Future<?>> fillers) throws Exception {
    for (Future<?> f : fillers) {
      try {
        f.get(60, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        assertThat(Status.fromThrowable(e.getCause()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      }
    }
  }

  /** {@link #coordinated}, for lambdas. */
  static long sqlCount(TestNode node, int state) {
    try {
      return coordinated(node, state);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Defect 2. GetOperation polled while cross-node transfers commit: an answer of NOT_FOUND means
   * "has not taken effect", so once a poller has seen the transfer in progress, NOT_FOUND followed
   * by the committed transfer is a lie (the decision landed between two reads).
   */
  @Test
  void getOperation_polledWhileTransfersCommit_neverAnswersNotFoundForOneThatTookEffect() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-2");
    String a = cluster.openOn("ledger-2", t, "a", 1_000);
    String b = cluster.openOn("ledger-3", t, "b", 0);
    ExecutorService pollers = Executors.newFixedThreadPool(4);
    try {
      for (int k = 0; k < 40; k++) {
        TransferRequest r = transfer(t, a, b, 1);
        AtomicReference<String> lie = new AtomicReference<>();
        List<Future<?>> polls = new ArrayList<>();
        for (int p = 0; p < 4; p++) {
          polls.add(pollers.submit(() -> {
            boolean seenInProgress = false;
            boolean seenNotFoundAfterIt = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
              String answer = operation(coordinator, t, a, r.getRequestId());
              if (answer.equals("TRANSFER_IN_PROGRESS")) {
                seenInProgress = true;
              } else if (answer.equals("OPERATION_NOT_FOUND") && seenInProgress) {
                seenNotFoundAfterIt = true;
              } else if (answer.equals("FOUND") && seenNotFoundAfterIt) {
                lie.set("NOT_FOUND after TRANSFER_IN_PROGRESS, then found: " + r.getRequestId());
              }
              if (answer.equals("FOUND")) {
                return null;
              }
              if (!answer.equals("TRANSFER_IN_PROGRESS") && !answer.equals("OPERATION_NOT_FOUND")) {
                lie.set("GetOperation answered " + answer);
                return null;
              }
            }
            return null;
          }));
        }
        coordinator.stub().transfer(r);
        for (Future<?> f : polls) {
          f.get(30, TimeUnit.SECONDS);
        }
        assertThat(lie.get()).as("GetOperation answers").isNull();
      }
    } finally {
      pollers.shutdownNow();
    }
  }

  /** FOUND, or the ErrorInfo reason GetOperation answered with. */
  private static String operation(TestNode node, String tenant, String account, String requestId) {
    try {
      node.stub().getOperation(GetOperationRequest.newBuilder().setTenantId(tenant).setAccountId(account)
          .setRequestId(requestId).build());
      return "FOUND";
    } catch (StatusRuntimeException e) {
      return reason(e);
    }
  }

  private static String reason(StatusRuntimeException e) {
    com.google.rpc.Status status = io.grpc.protobuf.StatusProto.fromThrowable(e);
    if (status == null) {
      return e.getStatus().getCode().name();
    }
    for (com.google.protobuf.Any d : status.getDetailsList()) {
      if (d.is(com.google.rpc.ErrorInfo.class)) {
        try {
          return d.unpack(com.google.rpc.ErrorInfo.class).getReason();
        } catch (com.google.protobuf.InvalidProtocolBufferException x) {
          throw new AssertionError(x);
        }
      }
    }
    return e.getStatus().getCode().name();
  }

  /** Defect 3. A batch applies in order: a deposit funds the cross-node transfer that follows it. */
  @Test
  void submitBatch_appliesACrossNodeTransferAfterTheOperationsBeforeIt() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-3", t, "a", 0);
    String b = cluster.openOn("ledger-1", t, "b", 0);

    SubmitBatchResponse r = cluster.node("ledger-3").stub().submitBatch(SubmitBatchRequest.newBuilder()
        .addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setRequestId(id())
            .setTenantId(t).setAccountId(a).setAmount(50)))
        .addOperations(BatchOperation.newBuilder().setTransfer(transfer(t, a, b, 50)))
        .build());

    assertThat(r.getResults(0).hasDeposit()).as(r.toString()).isTrue();
    assertThat(r.getResults(1).hasTransfer()).as(r.toString()).isTrue();
    eventually("the credit is applied", () -> cluster.account(t, b).getBalance() == 50);
    assertThat(cluster.account(t, a).getBalance()).isZero();
  }

  /**
   * Defect 4. While a cross-node transfer is undecided, its request_id is taken: a deposit reusing
   * it is REQUEST_ID_REUSED, and the transfer then commits and credits the receiver.
   */
  @Test
  void aRequestIdReusedWhileATransferIsUndecided_isRefused_andTheTransferCommits() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-1");
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-3", t, "b", 0);
    long preparingBefore = coordinated(coordinator, 1);
    TransferRequest r = transfer(t, a, b, 40);

    Future<TransferResponse> sent;
    try (Stall participant = Stall.of(cluster.node("ledger-3"))) {
      sent = async(coordinator).transfer(r);
      eventually("the coordinator recorded PREPARING", () -> sqlCount(coordinator, 1) > preparingBefore);
      assertRejected(() -> coordinator.stub().deposit(DepositRequest.newBuilder().setRequestId(r.getRequestId())
          .setTenantId(t).setAccountId(a).setAmount(5).build()), Status.Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");
    }

    assertThat(sent.get(60, TimeUnit.SECONDS).getFromAccount().getBalance()).isEqualTo(60);
    eventually("the credit is applied", () -> cluster.account(t, b).getBalance() == 40);
  }

  /**
   * Defect 5. A thousand committed transactions whose Commit never arrives must not hide a newer
   * orphaned PREPARING one from recovery: its hold is released after the prepare timeout.
   */
  @Test
  void recovery_withAThousandStuckCommits_stillAbortsANewerOrphanedPrepare() throws Exception {
    String t = tenant();
    TestNode coordinator = cluster.node("ledger-2");
    String a = cluster.openOn("ledger-2", t, "a", 10_000);
    String b = cluster.openOn("ledger-1", t, "b", 0);
    String c = cluster.openOn("ledger-3", t, "c", 0);
    String orphanFrom = cluster.openOn("ledger-2", t, "o", 10);
    String filler = cluster.openOn("ledger-2", t, "f", 0);
    cluster.links().drop("ledger-2", "ledger-1", "Commit");
    cluster.links().drop("ledger-2", "ledger-1", "CommitLegs");
    int committed = 0;
    while (committed < 1_000) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      for (int i = 0; i < 10; i++) {
        batch.addOperations(BatchOperation.newBuilder().setTransfer(transfer(t, a, b, 1)));
      }
      for (fortress.ledger.v1.BatchResult r : coordinator.stub().submitBatch(batch.build()).getResultsList()) {
        if (r.hasTransfer()) {
          committed++;
        } else {
          // A full queue on either node (the participant's refuses the leg: the transfer aborts).
          assertThat(r.getError().getReason()).as(r.toString()).isIn("WRITER_QUEUE_FULL", "TRANSFER_ABORTED");
        }
      }
    }
    assertThat(sqlCount(coordinator, 3)).isGreaterThanOrEqualTo(1_000);

    // The orphan: no vote arrives in time (its participant is stalled) and its abort decision is
    // refused (the coordinator's writer is stalled too, its queue full), so the live path gives
    // up and leaves it PREPARING for recovery. The stalls race the Prepare deadline, so on a
    // loaded machine the live path may still abort it in time; then the setup is tried again.
    long preparingBefore = sqlCount(coordinator, 1);
    for (int attempt = 1; sqlCount(coordinator, 1) == preparingBefore; attempt++) {
      assertThat(attempt).as("attempts to leave an orphaned PREPARING transaction").isLessThanOrEqualTo(20);
      orphan(coordinator, t, orphanFrom, c, filler);
    }
    eventually("recovery released the orphan's hold", () -> cluster.account(t, orphanFrom).getHeld() == 0);
    assertThat(cluster.account(t, orphanFrom).getBalance()).isEqualTo(10);
    cluster.links().heal();
    long credited = committed;
    eventually("every stuck credit landed", () -> cluster.account(t, b).getBalance() == credited);
  }

  /** One try at leaving a PREPARING transaction whose live path gave up; see the caller. */
  private static void orphan(TestNode coordinator, String t, String from, String to, String filler) throws Exception {
    long preparingBefore = sqlCount(coordinator, 1);
    Future<TransferResponse> orphan;
    List<Future<?>> fillers;
    try (Stall participant = Stall.of(cluster.node("ledger-3"))) {
      orphan = async(coordinator).transfer(transfer(t, from, to, 10));
      eventually("the coordinator recorded PREPARING", () -> sqlCount(coordinator, 1) > preparingBefore);
      try (Stall stalled = Stall.of(coordinator)) {
        fillers = fillQueue(coordinator, t, filler);
        Thread.sleep(3 * PREPARE_TIMEOUT_MS);
      }
    }
    awaitAppliedOrRefused(fillers);
    try {
      orphan.get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      // UNAVAILABLE: its decision could not be recorded, so it is uncertain and left for recovery;
      // ABORTED: the live path recorded the abort after all.
      assertThat(Status.fromThrowable(e.getCause()).getCode()).as(e.getCause().toString())
          .isIn(Status.Code.UNAVAILABLE, Status.Code.ABORTED);
    }
  }
}
