package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.cluster.v1.VerifyClusterRequest;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.DecoyServiceGrpc;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ListInteractionsRequest;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import fortress.ledger.Reflection;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Kills real ledger node processes at each two-phase commit failpoint, on a real (durable)
 * PostgreSQL, restarts them, and checks that recovery leaves every invariant true: credits
 * conserved, no negative balance, the transfer applied fully or not at all, nothing in doubt, and
 * a retry with the same request_id settling on one outcome.
 */
class TwoPhaseFaultTest {
  private static final int FAILPOINT_EXIT = 86;
  private static Path dataDir;
  private static LocalCluster cluster;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    Path root = Path.of(System.getProperty("fortress.root", "../.."));
    dataDir = Files.createTempDirectory("fortress-faults");
    cluster = LocalCluster.start(new LocalCluster.Options(root, dataDir, 3, "127.0.0.1", 0, 0, 0, 0, 0, "192m", false));
    channel = NettyChannelBuilder.forTarget(cluster.address(LocalCluster.PROXY)).usePlaintext().build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (cluster != null) {
      cluster.close();
    }
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static LedgerServiceGrpc.LedgerServiceBlockingStub ledger() {
    return LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static ClusterServiceGrpc.ClusterServiceBlockingStub admin() {
    return ClusterServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static String accountOn(String nodeId, String tenant, String prefix) {
    for (int i = 0; ; i++) {
      String candidate = prefix + i;
      if (admin().getRing(GetRingRequest.newBuilder().setTenantId(tenant).addAccountIds(candidate).build())
          .getPlacements(0).getNodeId().equals(nodeId)) {
        return candidate;
      }
    }
  }

  private static void open(String tenant, String account, long deposit) {
    ledger().createAccount(CreateAccountRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
        .setTenantId(tenant).setAccountId(account).build());
    if (deposit > 0) {
      ledger().deposit(DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(tenant)
          .setAccountId(account).setAmount(deposit).build());
    }
  }

  private static Account account(String tenant, String account) {
    return ledger().getAccount(GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId(account).build())
        .getAccount();
  }

  private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (StatusRuntimeException notYet) {
        // a node still starting; ask again
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 60 s: " + what);
      }
      Thread.sleep(100);
    }
  }

  @Test
  void theLaunchedProxy_announcesLedgerAndClusterServices_byReflection() throws Exception {
    assertThat(Reflection.services(channel)).contains("fortress.ledger.v1.LedgerService",
        "fortress.cluster.v1.ClusterService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection");
  }

  @Test
  void theLaunchedShadowServer_joinsTheCluster_andDecidesOverTcp() throws Exception {
    io.grpc.ManagedChannel shadow = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
        .forTarget(cluster.address(LocalCluster.SHADOW)).usePlaintext().build();
    try {
      assertThat(Reflection.services(shadow)).contains("fortress.shadow.v1.ShadowService", "grpc.health.v1.Health");
      fortress.shadow.v1.DecideResponse decided = fortress.shadow.v1.ShadowServiceGrpc.newBlockingStub(shadow)
          .decide(fortress.shadow.v1.DecideRequest.newBuilder().setAttributes(
              fortress.shadow.v1.RequestAttributes.newBuilder().setIp("203.0.113.7").setPath("/admin")).build());
      assertThat(decided.getAction()).isEqualTo(fortress.shadow.v1.Action.ACTION_ALLOW);
      assertThat(decided.getDecisionId()).startsWith("d.0.0.");
    } finally {
      shadow.shutdownNow();
    }
  }

  @Test
  void theLaunchedDecoy_servesATemplate_capturesTheRequest_andExportsItToTheShadowServer() throws Exception {
    ManagedChannel channel = NettyChannelBuilder
        .forTarget(cluster.address(LocalCluster.DECOY)).usePlaintext().build();
    try {
      assertThat(Reflection.services(channel)).contains("fortress.decoy.v1.DecoyService", "grpc.health.v1.Health")
          .doesNotContain("fortress.ledger.v1.LedgerService", "fortress.shadow.v1.ShadowService");
      var decoy = DecoyServiceGrpc.newBlockingStub(channel);
      decoy.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(UUID.randomUUID()
          .toString()).setTemplate(Template.newBuilder().setTemplateId("e2e-users")
          .setMethod("GET").setPathPattern("/e2e/users/{id}").setStatus(200)
          .setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API)
          .setBody("{\"email\":\"{{profile.email}}\"}")).build());
      var http = HttpClient.newHttpClient();
      var response = http.send(HttpRequest.newBuilder(URI.create("http://"
          + cluster.decoyHttpAddress() + "/e2e/users/1")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).matches("\\{\"email\":\"[a-z0-9.]+@[a-z0-9.-]+\"}");
      eventually("the request is captured", () -> decoy.listInteractions(
          ListInteractionsRequest.newBuilder().build()).getInteractionsList().stream()
          .anyMatch(i -> i.getTemplateId().equals("e2e-users")));
      var exported = decoy.exportInteractions(ExportInteractionsRequest.newBuilder()
          .setRequestId(UUID.randomUUID().toString()).setDataset("e2e-decoy").build());
      assertThat(exported.getExportedCount()).isPositive();
      assertThat(exported.getDatasetSampleCount()).as("samples stored by the real shadow server")
          .isEqualTo(exported.getExportedCount());
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Arms {@code failpoint} on {@code node}, sends a transfer of 30 from an account on ledger-1 to
   * one on ledger-2, waits for the node to halt, restarts it and checks the aftermath.
   */
  private void crashAt(String node, String failpoint, boolean committedBeforeTheCrash) throws Exception {
    String t = "fault-" + UUID.randomUUID().toString().substring(0, 8);
    String from = accountOn("ledger-1", t, "from-");
    String to = accountOn("ledger-2", t, "to-");
    open(t, from, 100);
    open(t, to, 0);
    cluster.stop(node);
    cluster.launch(node, List.of("--failpoints=" + failpoint));
    cluster.awaitServing(node);
    TransferRequest transfer = TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
        .setTenantId(t).setFromAccountId(from).setToAccountId(to).setAmount(30).build();

    StatusRuntimeException failed = catchThrowableOfType(StatusRuntimeException.class,
        () -> ledger().transfer(transfer));

    assertThat(cluster.awaitExit(node, 30_000)).as("%s halted at %s", node, failpoint).isEqualTo(FAILPOINT_EXIT);
    if (!committedBeforeTheCrash) {
      assertThat(failed).as("the client was not told the transfer happened").isNotNull();
    }
    if (!node.equals("ledger-2")) {
      assertThat(account(t, to).getBalance()).as("no credit before the decision is applied").isZero();
    }
    cluster.restart(node);

    long expectedFrom = committedBeforeTheCrash ? 70 : 100;
    eventually("recovery settles the transfer", () -> account(t, from).getBalance() == expectedFrom
        && account(t, to).getBalance() == 100 - expectedFrom && account(t, from).getHeld() == 0);
    assertSettled();

    TransferResponse retried = ledger().transfer(transfer);
    TransferResponse again = ledger().transfer(transfer);
    assertThat(again).as("a retry with the same request_id returns the same outcome").isEqualTo(retried);
    assertThat(retried.getFromAccount().getBalance()).isEqualTo(70);
    eventually("the transfer took effect exactly once", () -> account(t, from).getBalance() == 70
        && account(t, to).getBalance() == 30);
    assertSettled();
  }

  private static void assertSettled() throws InterruptedException {
    eventually("nothing in doubt", () -> {
      var inDoubt = admin().listInDoubt(ListInDoubtRequest.getDefaultInstance());
      return inDoubt.getUnreachableNodesCount() == 0 && inDoubt.getTotalCount() == 0;
    });
    GetClusterTotalsResponse totals = admin().getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
    assertThat(totals.getConserved()).as(totals.toString()).isTrue();
    assertThat(totals.getInFlightCredit()).isZero();
    assertThat(totals.getNodesList()).allSatisfy(n -> {
      assertThat(n.getBalance()).isNotNegative();
      assertThat(n.getHeld()).isBetween(0L, n.getBalance());
    });
    assertThat(admin().verifyCluster(VerifyClusterRequest.getDefaultInstance()).getOk()).isTrue();
  }

  @Test
  void aPostgresCrash_losesNoAcknowledgedCredit_andANodeStartedMeanwhileWaitsForIt() throws Exception {
    String t = "pg-" + UUID.randomUUID().toString().substring(0, 8);
    String from = accountOn("ledger-1", t, "from-");
    String to = accountOn("ledger-3", t, "to-");
    open(t, from, 100);
    open(t, to, 0);
    ledger().transfer(TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(t)
        .setFromAccountId(from).setToAccountId(to).setAmount(30).build());

    cluster.kill("ledger-3");
    cluster.stopPostgres(true);
    cluster.launch("ledger-3", List.of());
    Thread.sleep(3_000);
    assertThat(cluster.isRunning("ledger-3")).as("a node started without its database waits for it").isTrue();
    cluster.startPostgres();
    cluster.awaitServing("ledger-3");

    eventually("the acknowledged transfer survived the crash", () -> account(t, from).getBalance() == 70
        && account(t, to).getBalance() == 30);
    DepositRequest deposit = DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(t)
        .setAccountId(from).setAmount(5).build();
    eventually("writes work again", () -> ledger().deposit(deposit).getAccount().getBalance() == 75);
    assertThat(account(t, from).getBalance()).isEqualTo(75);
    assertSettled();
  }

  @Test
  void coordinatorKilledAfterWritingPreparing_abortsOnRestart() throws Exception {
    crashAt("ledger-1", "coordinator-after-preparing", false);
  }

  @Test
  void coordinatorKilledAfterTheParticipantPrepared_abortsOnRestart() throws Exception {
    crashAt("ledger-1", "coordinator-after-vote", false);
  }

  @Test
  void coordinatorKilledAfterTheDecision_commitsOnRestart() throws Exception {
    crashAt("ledger-1", "coordinator-after-decision", true);
  }

  @Test
  void participantKilledAfterPreparing_isToldTheAbortOnRestart() throws Exception {
    crashAt("ledger-2", "participant-after-prepare", false);
  }
}
