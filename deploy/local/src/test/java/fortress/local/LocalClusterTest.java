package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.ListInDoubtRequest;
import fortress.cluster.v1.VerifyClusterRequest;
import fortress.core.rpc.Reflection;
import fortress.core.security.Security;
import fortress.core.security.Tls;
import fortress.core.security.Tokens;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.DecoyServiceGrpc;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ListInteractionsRequest;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole local cluster, every server its own process, every hop over mTLS with the launcher's
 * throwaway CA, and tokens checked at the proxy, shadow and decoy servers:
 * <ul>
 *   <li>a client without a certificate, token or the right tenant or role is refused, with the
 *       reason;
 *   <li>ledger nodes take ShardService calls only from cluster members;
 *   <li>real ledger node processes are killed at each two-phase commit failpoint, on a real
 *       (durable) PostgreSQL, and restarted, and recovery leaves every invariant true: credits
 *       conserved, no negative balance, the transfer applied fully or not at all, nothing in
 *       doubt, and a retry with the same request_id settling on one outcome;
 *   <li>PostgreSQL itself crashes and comes back.
 * </ul>
 */
class LocalClusterTest {
  private static final int FAILPOINT_EXIT = 86;
  private static Path dataDir;
  private static LocalCluster cluster;
  private static com.sun.net.httpserver.HttpServer collector;
  private static final java.util.Queue<byte[]> exported = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    Path root = Path.of(System.getProperty("fortress.root", "../.."));
    dataDir = Files.createTempDirectory("fortress-faults");
    // Every server sends its traces to a stand-in OTLP/HTTP collector that keeps what it receives.
    collector = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      if (exchange.getRequestURI().getPath().equals("/v1/traces")) {
        exported.add(exchange.getRequestBody().readAllBytes());
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    String otlp = "--otlp-endpoint=http://127.0.0.1:" + collector.getAddress().getPort();
    Map<String, List<String>> flags = new java.util.HashMap<>();
    for (String server : List.of("ledger-1", "ledger-2", "ledger-3", LocalCluster.PROXY, LocalCluster.SHADOW,
        LocalCluster.DECOY)) {
      flags.put(server, List.of(otlp));
    }
    cluster = LocalCluster.start(new LocalCluster.Options(root, dataDir, 3, "127.0.0.1", 0, 0, 0, 0, 0, "192m", false,
        true), flags);
    channel = cluster.anonymousChannel(LocalCluster.PROXY);
  }

  @AfterAll
  static void stop() throws Exception {
    if (collector != null) {
      collector.stop(0);
    }
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

  /** LedgerService as {@code tenant}, with a token scoped to it. */
  private static LedgerServiceGrpc.LedgerServiceBlockingStub ledger(String tenant) {
    return LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .withInterceptors(Security.bearer(cluster.token("test", tenant, List.of(), Duration.ofMinutes(30))));
  }

  private static ClusterServiceGrpc.ClusterServiceBlockingStub admin() {
    return ClusterServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .withInterceptors(Security.bearer(cluster.devToken()));
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
    ledger(tenant).createAccount(CreateAccountRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
        .setTenantId(tenant).setAccountId(account).build());
    if (deposit > 0) {
      ledger(tenant).deposit(DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(tenant)
          .setAccountId(account).setAmount(deposit).build());
    }
  }

  /** A fresh tenant with an account on each of two nodes; the first holds 100. */
  private record Pair(String tenant, String from, String to) {
    TransferRequest transfer(long amount) {
      return TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(tenant)
          .setFromAccountId(from).setToAccountId(to).setAmount(amount).build();
    }
  }

  private static Pair pair(String prefix, String fromNode, String toNode) {
    String t = prefix + UUID.randomUUID().toString().substring(0, 8);
    Pair p = new Pair(t, accountOn(fromNode, t, "from-"), accountOn(toNode, t, "to-"));
    open(t, p.from(), 100);
    open(t, p.to(), 0);
    return p;
  }

  private static Account account(String tenant, String account) {
    return ledger(tenant).getAccount(GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId(account).build())
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
    ManagedChannel shadow = cluster.channel(LocalCluster.SHADOW);
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
    ManagedChannel channel = cluster.channel(LocalCluster.DECOY);
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
    Pair p = pair("fault-", "ledger-1", "ledger-2");
    String t = p.tenant();
    String from = p.from();
    String to = p.to();
    cluster.stop(node);
    cluster.launch(node, List.of("--failpoints=" + failpoint));
    cluster.awaitServing(node);
    TransferRequest transfer = p.transfer(30);

    StatusRuntimeException failed = catchThrowableOfType(StatusRuntimeException.class,
        () -> ledger(t).transfer(transfer));

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

    TransferResponse retried = ledger(t).transfer(transfer);
    TransferResponse again = ledger(t).transfer(transfer);
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
  void aClientWithoutACertificate_isRefused_andOneWithTheClusterCaCertificateIsServed() {
    HealthCheckRequest health = HealthCheckRequest.getDefaultInstance();
    for (String server : List.of(LocalCluster.PROXY, "ledger-1", LocalCluster.SHADOW, LocalCluster.DECOY)) {
      ManagedChannel noCertificate = new Tls(null, null, cluster.clientTls().caFile(), false)
          .channel(cluster.address(server)).build();
      ManagedChannel plaintext = Tls.OFF.channel(cluster.address(server)).build();
      try {
        assertThat(refused(() -> HealthGrpc.newBlockingStub(noCertificate).withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(health)).getStatus().getCode()).as(server).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(refused(() -> HealthGrpc.newBlockingStub(plaintext).withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(health)).getStatus().getCode()).as(server).isEqualTo(Status.Code.UNAVAILABLE);
      } finally {
        noCertificate.shutdownNow();
        plaintext.shutdownNow();
      }
      ManagedChannel withCertificate = cluster.anonymousChannel(server);
      try {
        assertThat(HealthGrpc.newBlockingStub(withCertificate).check(health).getStatus())
            .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      } finally {
        withCertificate.shutdownNow();
      }
    }
  }

  @Test
  void theProxy_refusesMissingBadAndExpiredTokens_withTheReason() {
    GetAccountRequest read = GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("nobody").build();
    ManagedChannel anonymous = cluster.anonymousChannel(LocalCluster.PROXY);
    try {
      StatusRuntimeException missing = refused(() -> LedgerServiceGrpc.newBlockingStub(anonymous).getAccount(read));
      assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(info(missing).getReason()).isEqualTo("TOKEN_MISSING");
      assertThat(info(missing).getDomain()).isEqualTo("auth.fortress.dev");

      String forged = Tokens.sign(Tokens.newSigningKey(), "mallory", "acme", List.of("admin"),
          Tokens.Policy.ALL, Duration.ofMinutes(5));
      StatusRuntimeException bad = refused(() -> asCaller(anonymous, forged).getAccount(read));
      assertThat(bad.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(info(bad).getReason()).isEqualTo("TOKEN_INVALID");
      assertThat(bad.getStatus().getDescription()).doesNotContain(forged);

      String expired = cluster.token("late", "acme", List.of(), Duration.ofMinutes(-5));
      StatusRuntimeException old = refused(() -> asCaller(anonymous, expired).getAccount(read));
      assertThat(old.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(info(old).getReason()).isEqualTo("TOKEN_EXPIRED");

      StatusRuntimeException garbage = refused(() -> asCaller(anonymous, "not-a-jwt").getAccount(read));
      assertThat(info(garbage).getReason()).isEqualTo("TOKEN_INVALID");
    } finally {
      anonymous.shutdownNow();
    }
  }

  @Test
  void theLaunchersSecrets_areOwnerOnly_andNoServerIsGivenAKeyThatCanSignTokens() throws Exception {
    List<Path> secrets = new java.util.ArrayList<>(List.of(dataDir.resolve("dev-token"),
        dataDir.resolve("cluster/decoy.jwt"), dataDir.resolve("cluster/issuer/signing-key.jwk")));
    try (Stream<Path> tls = Files.list(dataDir.resolve("tls"))) {
      tls.filter(p -> p.getFileName().toString().endsWith(".key")).forEach(secrets::add);
    }
    assertThat(secrets).hasSizeGreaterThan(6);
    for (Path secret : secrets) {
      assertThat(Files.getPosixFilePermissions(secret)).as(dataDir.relativize(secret).toString())
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    }
    for (String name : cluster.names()) {
      String command = Files.readString(Path.of("/proc", Long.toString(cluster.pid(name)), "cmdline"),
          StandardCharsets.UTF_8).replace('\0', ' ');
      assertThat(command).as(name).doesNotContain("signing-key").doesNotContain("auth-hs256").doesNotContain("issuer");
      if (!name.startsWith("ledger-")) {
        assertThat(command).as(name).contains("--auth-jwks-file=");
      }
    }
  }

  @Test
  void aTokenForTheLedger_isNoCallerOnTheShadowOrDecoyServers() {
    String ledgerOnly = cluster.token("app", "acme", List.of("admin"), List.of(Tokens.Policy.LEDGER.audience()),
        Duration.ofMinutes(5));
    ManagedChannel shadow = cluster.anonymousChannel(LocalCluster.SHADOW);
    ManagedChannel decoy = cluster.anonymousChannel(LocalCluster.DECOY);
    try {
      StatusRuntimeException onLedger = refused(() -> asCaller(channel, ledgerOnly).getAccount(
          GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("nobody-" + UUID.randomUUID()).build()));
      assertThat(onLedger.getStatus().getCode()).as("authenticated, then answered").isEqualTo(Status.Code.NOT_FOUND);
      StatusRuntimeException onShadow = refused(() -> fortress.shadow.v1.ShadowServiceGrpc.newBlockingStub(shadow)
          .withInterceptors(Security.bearer(ledgerOnly))
          .listRules(fortress.shadow.v1.ListRulesRequest.getDefaultInstance()));
      StatusRuntimeException onDecoy = refused(() -> DecoyServiceGrpc.newBlockingStub(decoy)
          .withInterceptors(Security.bearer(ledgerOnly))
          .listTemplates(fortress.decoy.v1.ListTemplatesRequest.getDefaultInstance()));

      assertThat(info(onShadow).getReason()).isEqualTo("TOKEN_INVALID");
      assertThat(info(onDecoy).getReason()).isEqualTo("TOKEN_INVALID");
    } finally {
      shadow.shutdownNow();
      decoy.shutdownNow();
    }
  }

  @Test
  void aTenantToken_reachesOnlyThatTenantsAccounts_andNeedsTheAdminRoleForClusterCalls() {
    String t = "tenant-" + UUID.randomUUID().toString().substring(0, 8);
    open(t, "wallet", 50);
    ManagedChannel anonymous = cluster.anonymousChannel(LocalCluster.PROXY);
    try {
      LedgerServiceGrpc.LedgerServiceBlockingStub own = asCaller(anonymous,
          cluster.token("own", t, List.of(), Duration.ofMinutes(5)));
      LedgerServiceGrpc.LedgerServiceBlockingStub other = asCaller(anonymous,
          cluster.token("other", "other-" + t, List.of(), Duration.ofMinutes(5)));
      GetAccountRequest read = GetAccountRequest.newBuilder().setTenantId(t).setAccountId("wallet").build();

      assertThat(own.getAccount(read).getAccount().getBalance()).isEqualTo(50);
      StatusRuntimeException foreign = refused(() -> other.getAccount(read));
      assertThat(foreign.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(info(foreign).getReason()).isEqualTo("TENANT_FORBIDDEN");
      assertThat(info(foreign).getMetadataMap()).containsEntry("field", "tenant_id");

      DepositRequest theft = DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
          .setTenantId(t).setAccountId("wallet").setAmount(1).build();
      SubmitBatchRequest batch = SubmitBatchRequest.newBuilder()
          .addOperations(BatchOperation.newBuilder().setDeposit(theft.toBuilder().setTenantId("other-" + t)))
          .addOperations(BatchOperation.newBuilder().setDeposit(theft)).build();
      assertThat(info(refused(() -> other.submitBatch(batch))).getReason())
          .as("a tenant nested in a batch is checked too").isEqualTo("TENANT_FORBIDDEN");
      assertThat(own.getAccount(read).getAccount().getBalance()).as("nothing refused took effect").isEqualTo(50);

      StatusRuntimeException notAdmin = refused(() -> ClusterServiceGrpc.newBlockingStub(anonymous)
          .withInterceptors(Security.bearer(cluster.token("own", t, List.of(), Duration.ofMinutes(5))))
          .getClusterTotals(GetClusterTotalsRequest.getDefaultInstance()));
      assertThat(notAdmin.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(info(notAdmin).getReason()).isEqualTo("ADMIN_REQUIRED");
      StatusRuntimeException noTenant = refused(() -> asCaller(anonymous,
          cluster.token("ops", null, List.of("admin"), Duration.ofMinutes(5))).getAccount(read));
      assertThat(info(noTenant).getReason()).isEqualTo("TENANT_REQUIRED");
    } finally {
      anonymous.shutdownNow();
    }
  }

  @Test
  void ledgerNodes_takeShardServiceCallsOnlyFromClusterMembers() {
    ManagedChannel client = cluster.anonymousChannel("ledger-1");
    ManagedChannel member = cluster.channel("ledger-1");
    try {
      StatusRuntimeException stranger = refused(() -> ShardServiceGrpc.newBlockingStub(client)
          .getTotals(GetTotalsRequest.getDefaultInstance()));
      assertThat(stranger.getStatus().getCode()).as("a certificate that names no member")
          .isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(info(stranger).getReason()).isEqualTo("PEER_FORBIDDEN");
      assertThat(refused(() -> LedgerServiceGrpc.newBlockingStub(client).getAccount(GetAccountRequest.newBuilder()
          .setTenantId("acme").setAccountId("x").build())).getStatus().getCode())
          .as("tenants reach nodes only through the proxy").isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(ShardServiceGrpc.newBlockingStub(member).getTotals(GetTotalsRequest.getDefaultInstance()))
          .as("as the proxy, by its certificate").isNotNull();
    } finally {
      client.shutdownNow();
      member.shutdownNow();
    }
  }

  private static LedgerServiceGrpc.LedgerServiceBlockingStub asCaller(ManagedChannel channel, String token) {
    return LedgerServiceGrpc.newBlockingStub(channel).withInterceptors(Security.bearer(token))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @Test
  void everyServer_servesPrometheusMetrics_ofItsRpcsAndItsOwnWork() throws Exception {
    Pair p = pair("metrics-", "ledger-1", "ledger-2");
    ledger(p.tenant()).transfer(p.transfer(10));
    ManagedChannel shadow = cluster.channel(LocalCluster.SHADOW);
    try {
      fortress.shadow.v1.ShadowServiceGrpc.newBlockingStub(shadow).decide(fortress.shadow.v1.DecideRequest.newBuilder()
          .setAttributes(fortress.shadow.v1.RequestAttributes.newBuilder().setIp("198.51.100.1").setPath("/")).build());
    } finally {
      shadow.shutdownNow();
    }
    HttpClient http = HttpClient.newHttpClient();
    java.util.function.Function<String, String> scrape = name -> {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cluster.metricsUrl(name))).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(name).isEqualTo(200);
        return r.body();
      } catch (Exception e) {
        throw new AssertionError(name + ": " + e, e);
      }
    };

    assertThat(scrape.apply(LocalCluster.PROXY)).contains("rpc_server_duration", "rpc_client_duration",
        "fortress_cluster_conserved", "fortress_cluster_journal_verified");
    assertThat(scrape.apply("ledger-1")).contains("rpc_server_duration", "fortress_ledger_writer_batch_size",
        "fortress_ledger_writer_queue_depth", "fortress_ledger_twopc_unfinished",
        "fortress_ledger_twopc_phase_duration");
    assertThat(scrape.apply(LocalCluster.SHADOW)).contains("rpc_server_duration", "fortress_shadow_decisions");
    assertThat(scrape.apply(LocalCluster.DECOY)).contains("fortress_decoy_interactions_captured");
  }

  @Test
  void oneTrace_followsACrossNodeTransfer_fromTheProxyToTheCoordinatorAndTheParticipant() throws Exception {
    Pair p = pair("trace-", "ledger-1", "ledger-2");
    byte[] traceId = new byte[16];
    new java.security.SecureRandom().nextBytes(traceId);
    String traceparent = "00-" + java.util.HexFormat.of().formatHex(traceId) + "-0123456789abcdef-01";
    io.grpc.Metadata headers = new io.grpc.Metadata();
    headers.put(io.grpc.Metadata.Key.of("traceparent", io.grpc.Metadata.ASCII_STRING_MARSHALLER), traceparent);

    ledger(p.tenant()).withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers))
        .transfer(p.transfer(10));

    // Each server exports its spans in batches, every few seconds.
    eventually("the proxy, the coordinator and the participant each exported spans of the trace", () ->
        List.of("proxy", "ledger-1", "ledger-2").stream().allMatch(who -> exported.stream()
            .anyMatch(body -> contains(body, traceId) && contains(body, instance(who)))));
    assertThat(exported.stream().anyMatch(body -> contains(body, traceId)
        && contains(body, "2pc prepare".getBytes(StandardCharsets.UTF_8))))
        .as("the coordinator's two-phase commit phases are spans of the same trace").isTrue();
  }

  /**
   * How an export request from {@code id} names its sender: the resource attribute
   * service.instance.id as protobuf (KeyValue{key, value: AnyValue{string_value}}). One request
   * carries one process's spans, so this tells who sent it.
   */
  private static byte[] instance(String id) {
    byte[] key = "service.instance.id".getBytes(StandardCharsets.UTF_8);
    byte[] value = id.getBytes(StandardCharsets.UTF_8);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.writeBytes(key);
    out.write(0x12);
    out.write(value.length + 2);
    out.write(0x0A);
    out.write(value.length);
    out.writeBytes(value);
    return out.toByteArray();
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  @Test
  void aPostgresCrash_losesNoAcknowledgedCredit_andANodeStartedMeanwhileWaitsForIt() throws Exception {
    Pair p = pair("pg-", "ledger-1", "ledger-3");
    String t = p.tenant();
    String from = p.from();
    String to = p.to();
    ledger(t).transfer(p.transfer(30));

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
    eventually("writes work again", () -> ledger(t).deposit(deposit).getAccount().getBalance() == 75);
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
