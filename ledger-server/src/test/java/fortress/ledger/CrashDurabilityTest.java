package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Runs a ledger node as its own process on its own durable embedded PostgreSQL, acknowledges
 * deposits under load, kills it with SIGKILL mid-stream and restarts it: every acknowledged deposit
 * must still be there and the journal must verify. The second round kills PostgreSQL too.
 */
class CrashDurabilityTest {
  private static final String TENANT = "crash";
  private static final int ACKS_BEFORE_KILL = 300;

  @Test
  void node_killedWithSigkillUnderLoad_keepsEveryAcknowledgedOperation() throws Exception {
    Path data = Path.of("target", "crash-" + System.nanoTime()).toAbsolutePath();
    int port = freePort();
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    Process node = startNode(data, port);
    try {
      withStub(port, stub -> stub.createAccount(CreateAccountRequest.newBuilder().setRequestId("open")
          .setTenantId(TENANT).setAccountId("vault").build()));

      loadThenKill(port, node, acknowledged, false);
      node = startNode(data, port);
      checkEverythingAcknowledgedIsThere(port, acknowledged);

      long pg = Long.parseLong(Files.readAllLines(data.resolve("pg/postmaster.pid")).get(0).trim());
      loadThenKill(port, node, acknowledged, true);
      assertThat(ProcessHandle.of(pg).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      node = startNode(data, port);
      checkEverythingAcknowledgedIsThere(port, acknowledged);
    } finally {
      node.destroy();
      node.waitFor(60, TimeUnit.SECONDS);
    }
  }

  /** Sends deposits from 16 threads; after enough acknowledgements, SIGKILLs the node (and PostgreSQL). */
  private void loadThenKill(int port, Process node, Map<String, Long> acknowledged, boolean killPostgres)
      throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger acks = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    for (int t = 0; t < 16; t++) {
      pool.submit(() -> {
        var stub = LedgerServiceGrpc.newBlockingStub(channel);
        while (!stop.get()) {
          String id = TestNode.id();
          long amount = 1 + (id.hashCode() & 0xff);
          try {
            stub.withDeadlineAfter(10, TimeUnit.SECONDS).deposit(DepositRequest.newBuilder().setRequestId(id)
                .setTenantId(TENANT).setAccountId("vault").setAmount(amount).build());
            acknowledged.put(id, amount);
            acks.incrementAndGet();
          } catch (StatusRuntimeException e) {
            // After the kill: UNAVAILABLE. Such a deposit may or may not have landed; it was not acknowledged.
          }
        }
        return null;
      });
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (acks.get() < ACKS_BEFORE_KILL && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(acks.get()).as("deposits acknowledged before the kill").isGreaterThanOrEqualTo(ACKS_BEFORE_KILL);
    long postmaster = -1;
    if (killPostgres) {
      postmaster = Long.parseLong(Files.readAllLines(
          Path.of(nodeDataDir(node), "pg", "postmaster.pid")).get(0).trim());
    }
    node.destroyForcibly(); // SIGKILL
    node.waitFor(30, TimeUnit.SECONDS);
    if (killPostgres) {
      new ProcessBuilder("kill", "-9", Long.toString(postmaster)).start().waitFor();
      long pgDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < pgDeadline) {
        Thread.sleep(50);
      }
    }
    stop.set(true);
    pool.shutdown();
    assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    channel.shutdownNow();
  }

  private void checkEverythingAcknowledgedIsThere(int port, Map<String, Long> acknowledged) throws Exception {
    withStub(port, stub -> {
      for (Map.Entry<String, Long> ack : acknowledged.entrySet()) {
        DepositResponse recorded = stub.getOperation(GetOperationRequest.newBuilder().setTenantId(TENANT)
            .setAccountId("vault").setRequestId(ack.getKey()).build()).getOperation().getDeposit();
        assertThat(recorded.getAccount().getAccountId()).isEqualTo("vault");
      }
      long acked = acknowledged.values().stream().mapToLong(Long::longValue).sum();
      long balance = stub.getAccount(GetAccountRequest.newBuilder().setTenantId(TENANT).setAccountId("vault")
          .build()).getAccount().getBalance();
      assertThat(balance).as("every acknowledged credit survives").isGreaterThanOrEqualTo(acked);
      VerifyJournalResponse report = stub.verifyJournal(VerifyJournalRequest.getDefaultInstance());
      assertThat(report.getOk()).as(report.getProblem()).isTrue();
      return null;
    });
  }

  private interface StubCall {
    Object call(LedgerServiceGrpc.LedgerServiceBlockingStub stub) throws Exception;
  }

  private static void withStub(int port, StubCall call) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      call.call(LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS));
    } finally {
      channel.shutdownNow();
    }
  }

  private static final Map<Process, String> DATA_DIRS = new ConcurrentHashMap<>();

  private static String nodeDataDir(Process p) {
    return DATA_DIRS.get(p);
  }

  private static Process startNode(Path data, int port) throws Exception {
    Files.createDirectories(data);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "fortress.ledger.Main", "--data-dir=" + data, "--grpc-port=" + port, "--metrics-port=0"))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("node.log").toFile()))
        .start();
    DATA_DIRS.put(p, data.toString());
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        if (!p.isAlive()) {
          throw new AssertionError("node exited early:\n" + Files.readString(data.resolve("node.log"),
              StandardCharsets.UTF_8));
        }
        try {
          if (HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance()).getStatus() == ServingStatus.SERVING) {
            return p;
          }
        } catch (StatusRuntimeException e) {
          assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED);
        }
        Thread.sleep(200);
      }
    } finally {
      channel.shutdownNow();
    }
    p.destroyForcibly();
    throw new AssertionError("node did not become healthy");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
