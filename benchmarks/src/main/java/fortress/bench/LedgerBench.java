package fortress.bench;

import fortress.ledger.LedgerConfig;
import fortress.ledger.LedgerServer;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Load generator for one ledger node. Starts, in one process, a bare gRPC echo server (the
 * ceiling) and a ledger node on its own durable embedded PostgreSQL (fsync on), then drives each
 * over loopback with a closed loop of N calls in flight on async stubs, recording latency in
 * HdrHistogram. Prints a Markdown table; every figure is also given as a ratio to the echo
 * measured at the same concurrency in the same run.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar [--seconds=10] [--warmup-seconds=3] [--accounts=1000]</pre>
 */
public final class LedgerBench {
  private static final String TENANT = "bench";
  private static final String ECHO = "bare gRPC echo";
  private static final int[] IN_FLIGHT = {64, 256};
  private static final int BATCH_OPS = 100;
  private static final int BATCH_IN_FLIGHT = 8;

  public static void main(String[] args) throws Exception {
    fortress.core.Settings s = new fortress.core.Settings(args, System.getenv());
    int seconds = s.integer("seconds", 10, 1, 3600, "measured seconds per scenario");
    int warmup = s.integer("warmup-seconds", 3, 0, 600, "unmeasured seconds before each scenario");
    int accounts = s.integer("accounts", 1000, 2, 1_000_000, "accounts the calls spread over");
    Flags.finish(s, args);

    Path data = Files.createTempDirectory("fortress-bench");
    ExecutorService echoExecutor = Executors.newFixedThreadPool(LedgerConfig.SERVER_THREADS_DEFAULT);
    Server echo = EchoServer.start(echoExecutor);
    LedgerConfig config = LedgerConfig.parse(new String[] {"--grpc-port=0", "--metrics-port=0", "--data-dir=" + data}, Map.of());
    try (LedgerServer node = LedgerServer.start(config)) {
      // However the benchmark ends (done, Ctrl-C, timeout), its PostgreSQL stops and its data goes.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        node.close();
        ClosedLoop.deleteTree(data);
      }, "bench-shutdown"));
      ManagedChannel echoChannel = ClosedLoop.channel("127.0.0.1:" + echo.getPort());
      ManagedChannel ledgerChannel = ClosedLoop.channel("127.0.0.1:" + node.port());
      var stub = LedgerServiceGrpc.newFutureStub(ledgerChannel);
      List<String> ids = setUp(stub, accounts);
      List<ClosedLoop.Result> results = new ArrayList<>();
      byte[] payload = DepositRequest.newBuilder().setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT)
          .setAccountId(ids.get(0)).setAmount(100).build().toByteArray();
      for (int inFlight : IN_FLIGHT) {
        results.add(ClosedLoop.run(ECHO, inFlight, 1, seconds, warmup,
            () -> ClientCalls.futureUnaryCall(echoChannel.newCall(EchoServer.ECHO, CallOptions.DEFAULT), payload)));
        results.add(ClosedLoop.run("Deposit", inFlight, 1, seconds, warmup, () -> stub.deposit(DepositRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT).setAccountId(pick(ids)).setAmount(100)
            .build())));
        results.add(ClosedLoop.run("Consume", inFlight, 1, seconds, warmup, () -> stub.consume(ConsumeRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT).setAccountId(pick(ids)).setAmount(1)
            .build())));
        results.add(ClosedLoop.run("Transfer", inFlight, 1, seconds, warmup, () -> {
          String from = pick(ids);
          String to = pick(ids);
          while (to.equals(from)) {
            to = pick(ids);
          }
          return stub.transfer(TransferRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
              .setTenantId(TENANT).setFromAccountId(from).setToAccountId(to).setAmount(1).build());
        }));
        results.add(ClosedLoop.run("GetAccount", inFlight, 1, seconds, warmup, () -> stub.getAccount(
            GetAccountRequest.newBuilder().setTenantId(TENANT).setAccountId(pick(ids)).build())));
      }
      results.add(ClosedLoop.run("SubmitBatch of " + BATCH_OPS + " transfers", BATCH_IN_FLIGHT, BATCH_OPS, seconds, warmup,
          () -> stub.submitBatch(transfers(ids))));
      ClosedLoop.print(results, ECHO);
      System.out.printf("%n(%d measured seconds per scenario; durable: PostgreSQL fsync=on, synchronous_commit=on)%n",
          seconds);
      echoChannel.shutdownNow();
      ledgerChannel.shutdownNow();
    } finally {
      echo.shutdownNow();
      echoExecutor.shutdownNow();
    }
  }

  private static List<String> setUp(LedgerServiceGrpc.LedgerServiceFutureStub stub, int accounts) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int from = 0; from < accounts; from += 500) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      for (int i = from; i < Math.min(accounts, from + 500); i++) {
        String id = "acct-" + i;
        ids.add(id);
        batch.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId("create-" + i).setTenantId(TENANT).setAccountId(id)));
        batch.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
            .setRequestId("fund-" + i).setTenantId(TENANT).setAccountId(id).setAmount(1_000_000_000_000L)));
      }
      stub.submitBatch(batch.build()).get(60, TimeUnit.SECONDS);
    }
    return ids;
  }

  private static SubmitBatchRequest transfers(List<String> ids) {
    SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
    for (int i = 0; i < BATCH_OPS; i++) {
      String from = pick(ids);
      String to = pick(ids);
      if (to.equals(from)) {
        to = ids.get((ids.indexOf(from) + 1) % ids.size());
      }
      batch.addOperations(BatchOperation.newBuilder().setTransfer(TransferRequest.newBuilder()
          .setRequestId(UUID.randomUUID().toString()).setTenantId(TENANT).setFromAccountId(from).setToAccountId(to)
          .setAmount(1)));
    }
    return batch.build();
  }

  private static String pick(List<String> ids) {
    return ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
  }
}
