package fortress.proxy.redis;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.RetryInfo;
import fortress.core.rpc.Reflection;
import fortress.ledger.TestCluster;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.proxy.ProxyConfig;
import fortress.proxy.ProxyServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy's rate limits on a real redis-server, which is killed mid-load, and reads that see
 * every change with Redis on: calls go through real stubs to a proxy in front of three real
 * ledger nodes.
 */
class RedisProxyTest {
  private static TestCluster cluster;
  private final List<ProxyServer> proxies = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private LocalRedis redis;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = new TestCluster(3);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    cluster.close();
  }

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    proxies.forEach(ProxyServer::close);
    if (redis != null) {
      redis.close();
    }
  }

  private LedgerServiceGrpc.LedgerServiceBlockingStub proxy(String... flags) throws Exception {
    String name = "proxy-" + UUID.randomUUID();
    List<String> args = new ArrayList<>(List.of("--ring-file=" + cluster.ringFile(), "--retry-backoff-ms=10",
        "--redis-url=" + redis.url()));
    args.addAll(List.of(flags));
    proxies.add(ProxyServer.start(ProxyConfig.parse(args.toArray(String[]::new), Map.of()),
        InProcessServerBuilder.forName(name), cluster::connect));
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    channels.add(channel);
    return LedgerServiceGrpc.newBlockingStub(channel);
  }

  private static String tenant() {
    return "t-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static void open(LedgerServiceGrpc.LedgerServiceBlockingStub ledger, String tenant, String account) {
    ledger.withDeadlineAfter(30, TimeUnit.SECONDS).createAccount(CreateAccountRequest.newBuilder()
        .setRequestId(UUID.randomUUID().toString()).setTenantId(tenant).setAccountId(account).build());
  }

  private static GetAccountRequest read(String tenant, String account) {
    return GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId(account).build();
  }

  @Test
  void aTenantOverItsRate_isRefusedWithRetryInfo_andEveryProxySharesTheBucket() throws Exception {
    redis = LocalRedis.start();
    String[] limit = {"--rate-limit-per-second=1", "--rate-limit-burst=3"};
    var a = proxy(limit);
    var b = proxy(limit);
    String t = tenant();
    String other = tenant();

    open(a, t, "main");
    Thread.sleep(3_100); // the bucket refills to its burst of 3
    List<StatusRuntimeException> refusals = new ArrayList<>();
    long started = System.nanoTime();
    for (int i = 0; i < 8; i++) {
      var proxy = i % 2 == 0 ? a : b;
      try {
        proxy.getAccount(read(t, "main"));
      } catch (StatusRuntimeException e) {
        refusals.add(e);
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;

    assertThat(8 - refusals.size()).as("calls allowed through two proxies in %.2f s: one bucket of 3, 1 a second",
        seconds).isLessThanOrEqualTo(3 + (int) Math.ceil(seconds));
    StatusRuntimeException over = refusals.get(0);
    assertThat(over.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(info(over).getReason()).isEqualTo("RATE_LIMITED");
    RetryInfo retry = StatusProto.fromThrowable(over).getDetailsList().stream()
        .filter(d -> d.is(RetryInfo.class)).findFirst().orElseThrow().unpack(RetryInfo.class);
    assertThat(retry.getRetryDelay().getNanos() + retry.getRetryDelay().getSeconds() * 1_000_000_000L)
        .as("when one call will be allowed again").isPositive();
    assertThat(Reflection.details(a.getChannel(), over)).as("as grpcurl prints them, through reflection alone")
        .anySatisfy(d -> assertThat(d).contains("\"reason\": \"RATE_LIMITED\""))
        .anySatisfy(d -> assertThat(d).contains("google.rpc.RetryInfo", "\"retryDelay\""));
    open(b, other, "main");
    assertThat(b.getAccount(read(other, "main")).getAccount().getAccountId())
        .as("another tenant has its own bucket").isEqualTo("main");
  }

  private static void assertRateLimited(Runnable call) {
    StatusRuntimeException e = refused(call);
    assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(info(e).getReason()).isEqualTo("RATE_LIMITED");
  }

  /**
   * Calls that ask every node pay a token per node, VerifyJournal included, and a batch charges
   * every tenant in it for its own operations, not the first operation's tenant for all.
   */
  @Test
  void fanOutsAndBatches_payForWhatTheyCost_toTheRightTenant() throws Exception {
    redis = LocalRedis.start();
    // Three nodes and a bucket of 3: one fan-out empties it.
    var ledger = proxy("--rate-limit-per-second=1", "--rate-limit-burst=3").withDeadlineAfter(30, TimeUnit.SECONDS);
    String t = tenant();
    GetOperationRequest anywhere = GetOperationRequest.newBuilder().setTenantId(t).setRequestId("r-1").build();

    StatusRuntimeException first = refused(() -> ledger.getOperation(anywhere));
    assertThat(info(first).getReason()).as("let through, and not found").isEqualTo("OPERATION_NOT_FOUND");
    assertRateLimited(() -> ledger.getOperation(anywhere));

    assertThat(ledger.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    assertRateLimited(() -> ledger.verifyJournal(VerifyJournalRequest.getDefaultInstance()));

    String spent = tenant();
    String payer = tenant();
    for (int i = 0; i < 3; i++) {
      open(ledger, spent, "a" + i);
    }
    SubmitBatchRequest riding = SubmitBatchRequest.newBuilder()
        .addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString()).setTenantId(payer).setAccountId("p")))
        .addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString()).setTenantId(spent).setAccountId("b")))
        .addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString()).setTenantId(spent).setAccountId("c")))
        .build();
    assertRateLimited(() -> ledger.submitBatch(riding));
  }

  /**
   * With Redis on, a read through the proxy shows every change the caller has been told of: the
   * credit of a transfer to an account read before, and a deposit made in a SubmitBatch.
   */
  @Test
  void withRedis_getAccountAfterATransferOrABatch_showsTheChangeAtOnce() throws Exception {
    redis = LocalRedis.start();
    var ledger = proxy("--rate-limit-per-second=1000000");
    String t = tenant();
    open(ledger, t, "from");
    awaitRedisInUse(ledger, t);
    fortress.core.ring.Ring ring = fortress.core.ring.RingFile.read(cluster.ringFile());
    String to = "to";
    for (int i = 0; !ring.owner(t, to).equals(ring.owner(t, "from")); i++) {
      to = "to-" + i;
    }
    open(ledger, t, to);
    ledger.deposit(DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(t)
        .setAccountId("from").setAmount(100).build());
    assertThat(ledger.getAccount(read(t, to)).getAccount().getBalance()).isZero();

    ledger.transfer(fortress.ledger.v1.TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
        .setTenantId(t).setFromAccountId("from").setToAccountId(to).setAmount(30).build());
    assertThat(ledger.getAccount(read(t, to)).getAccount().getBalance()).as("the credit of a same-node transfer")
        .isEqualTo(30);

    ledger.submitBatch(SubmitBatchRequest.newBuilder().addOperations(BatchOperation.newBuilder()
        .setDeposit(DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(t)
            .setAccountId("from").setAmount(5))).build());
    assertThat(ledger.getAccount(read(t, "from")).getAccount().getBalance()).as("a deposit made in a batch")
        .isEqualTo(75);
  }

  /** Waits until the proxy uses Redis: the tenant's rate-limit bucket is there. */
  private void awaitRedisInUse(LedgerServiceGrpc.LedgerServiceBlockingStub ledger, String tenant) throws Exception {
    RedisClient client = RedisClient.create(redis.url());
    try (StatefulRedisConnection<String, String> direct = client.connect()) {
      for (int i = 0; i < 200; i++) {
        ledger.getAccount(read(tenant, "from"));
        if (direct.sync().exists(Keys.bucket(tenant)) == 1) {
          return;
        }
        Thread.sleep(50);
      }
    } finally {
      client.shutdown();
    }
    throw new AssertionError("the proxy did not use Redis within 10 s");
  }

  @Test
  void killingRedisMidLoad_failsNoRequest_andTheProxyUsesRedisAgainOnceItIsBack() throws Exception {
    redis = LocalRedis.start();
    var ledger = proxy("--rate-limit-per-second=1000000", "--redis-timeout-ms=200");
    String t = tenant();
    int clients = 6;
    for (int i = 0; i < clients; i++) {
      open(ledger, t, "acct-" + i);
    }
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong deposited = new AtomicLong();
    AtomicLong calls = new AtomicLong();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      String account = "acct-" + i;
      Thread thread = new Thread(() -> {
        while (running.get()) {
          try {
            ledger.withDeadlineAfter(10, TimeUnit.SECONDS).deposit(DepositRequest.newBuilder()
                .setRequestId(UUID.randomUUID().toString()).setTenantId(t).setAccountId(account).setAmount(1).build());
            deposited.incrementAndGet();
            ledger.withDeadlineAfter(10, TimeUnit.SECONDS).getAccount(read(t, account));
            calls.addAndGet(2);
          } catch (StatusRuntimeException e) {
            failures.add(e.getStatus().toString());
          }
        }
      });
      threads.add(thread);
      thread.start();
    }
    Thread.sleep(1_500);
    long beforeKill = calls.get();
    redis.kill();
    Thread.sleep(2_000);
    long whileDown = calls.get() - beforeKill;
    redis.restart();
    Thread.sleep(3_000);
    running.set(false);
    for (Thread thread : threads) {
      thread.join();
    }

    assertThat(failures).as("calls failed while Redis was killed").isEmpty();
    assertThat(whileDown).as("calls served while Redis was down").isGreaterThan(10);
    long total = 0;
    for (int i = 0; i < clients; i++) {
      total += ledger.getAccount(read(t, "acct-" + i)).getAccount().getBalance();
    }
    RedisClient client = RedisClient.create(redis.url());
    try (StatefulRedisConnection<String, String> direct = client.connect()) {
      assertThat(direct.sync().exists(Keys.bucket(t))).as("the limit lives in Redis again").isEqualTo(1);
    } finally {
      client.shutdown();
    }
    assertThat(total).as("every acknowledged deposit landed once").isEqualTo(deposited.get());
  }
}
