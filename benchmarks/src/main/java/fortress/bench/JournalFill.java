package fortress.bench;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fills a node's journal through its real write path: SubmitBatch calls of {@link #BATCH_OPS}
 * operations from {@code lanes} concurrent callers. Each batch mixes transfers, deposits, consumes
 * and new holds, and resolves the holds its lane created in the previous batch (captured in full,
 * captured in part, which also releases the rest, or released). Some holds are left to expire.
 * Memos vary in length and include non-ASCII text. Progress goes to stderr.
 */
final class JournalFill {
  static final String TENANT = "journal-bench";
  private static final int BATCH_OPS = 1_000;
  private static final int OPEN_PER_BATCH = 400;
  private static final long FUNDING = 1_000_000_000_000L;
  private static final String[] MEMOS = {"", "invoice 4711", "refund — déjà vu ✓", "x".repeat(120)};

  private JournalFill() {}

  static void fill(ManagedChannel channel, int accounts, long entries, int lanes) throws Exception {
    var stub = LedgerServiceGrpc.newBlockingStub(channel);
    long start = System.nanoTime();
    AtomicLong written = new AtomicLong();
    for (int from = 0; from < accounts; from += OPEN_PER_BATCH) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      for (int i = from; i < Math.min(accounts, from + OPEN_PER_BATCH); i++) {
        batch.addOperations(op(CreateAccountRequest.newBuilder().setRequestId("open-" + i).setTenantId(TENANT)
            .setAccountId(account(i)).build()));
        batch.addOperations(op(DepositRequest.newBuilder().setRequestId("fund-" + i).setTenantId(TENANT)
            .setAccountId(account(i)).setAmount(FUNDING).build()));
        // One account in fifty has a hold nobody resolves; the sweeper expires it.
        if (i % 50 == 0) {
          batch.addOperations(op(CreateHoldRequest.newBuilder().setRequestId("lapse-" + i).setTenantId(TENANT)
              .setAccountId(account(i)).setAmount(7).setTimeoutSeconds(1).build()));
        }
      }
      written.addAndGet(submit(stub, batch.build(), null));
    }
    System.err.printf("opened %,d accounts (%,d entries) in %.1f s%n", accounts, written.get(),
        (System.nanoTime() - start) / 1e9);
    ExecutorService pool = Executors.newFixedThreadPool(lanes);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int lane = 0; lane < lanes; lane++) {
        int l = lane;
        done.add(pool.submit(() -> {
          lane(channel, l, accounts, entries, written, start);
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    System.err.printf("filled %,d entries in %.1f s%n", written.get(), (System.nanoTime() - start) / 1e9);
  }

  private static void lane(ManagedChannel channel, int lane, int accounts, long entries, AtomicLong written,
      long start) {
    var stub = LedgerServiceGrpc.newBlockingStub(channel);
    SplittableRandom random = new SplittableRandom(lane);
    List<String> holds = new ArrayList<>();
    long step = Math.max(entries / 20, 1);
    for (int round = 0; written.get() < entries; round++) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      String prefix = lane + "-" + round + "-";
      for (int i = 0; i < holds.size(); i++) {
        batch.addOperations(resolve(prefix + "r" + i, holds.get(i), i % 3));
      }
      holds.clear();
      while (batch.getOperationsCount() < BATCH_OPS) {
        batch.addOperations(mutation(prefix + batch.getOperationsCount(), random, accounts));
      }
      long wrote = submit(stub, batch.build(), holds);
      long after = written.addAndGet(wrote);
      long before = after - wrote;
      if (before / step != after / step) {
        double s = (System.nanoTime() - start) / 1e9;
        System.err.printf("  %,d entries written, %.1f s, %,.0f entries/s%n", after, s, after / s);
      }
    }
  }

  private static BatchOperation mutation(String requestId, SplittableRandom random, int accounts) {
    String memo = MEMOS[random.nextInt(MEMOS.length)];
    String a = account(random.nextInt(accounts));
    long amount = 1 + random.nextInt(1_000);
    int pick = random.nextInt(100);
    if (pick < 55) {
      String b = account(random.nextInt(accounts));
      while (b.equals(a)) {
        b = account(random.nextInt(accounts));
      }
      return op(TransferRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setFromAccountId(a)
          .setToAccountId(b).setAmount(amount).setMemo(memo).build());
    } else if (pick < 70) {
      return op(DepositRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setAccountId(a)
          .setAmount(amount).setMemo(memo).build());
    } else if (pick < 85) {
      return op(ConsumeRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setAccountId(a)
          .setAmount(amount).setMemo(memo).build());
    }
    return op(CreateHoldRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setAccountId(a)
        .setAmount(amount + 1).setTimeoutSeconds(3_600).setMemo(memo).build());
  }

  private static BatchOperation resolve(String requestId, String holdId, int how) {
    return switch (how) {
      case 0 -> BatchOperation.newBuilder().setCaptureHold(CaptureHoldRequest.newBuilder().setRequestId(requestId)
          .setTenantId(TENANT).setHoldId(holdId)).build();
      case 1 -> BatchOperation.newBuilder().setCaptureHold(CaptureHoldRequest.newBuilder().setRequestId(requestId)
          .setTenantId(TENANT).setHoldId(holdId).setAmount(1).setMemo("part")).build();
      default -> BatchOperation.newBuilder().setReleaseHold(ReleaseHoldRequest.newBuilder().setRequestId(requestId)
          .setTenantId(TENANT).setHoldId(holdId)).build();
    };
  }

  /** Submits one batch; returns the journal entries it wrote and adds the holds it created to {@code holds}. */
  private static long submit(LedgerServiceGrpc.LedgerServiceBlockingStub stub, SubmitBatchRequest batch,
      List<String> holds) {
    List<BatchResult> results = stub.withDeadlineAfter(2, TimeUnit.MINUTES).submitBatch(batch).getResultsList();
    long entries = 0;
    for (int i = 0; i < results.size(); i++) {
      BatchResult r = results.get(i);
      BatchOperation op = batch.getOperations(i);
      checkState(!r.hasError(), "operation %s was refused: %s", i, r.getError());
      entries += switch (r.getResultCase()) {
        case TRANSFER -> 2;
        case CAPTURE_HOLD -> op.getCaptureHold().hasAmount() ? 2 : 1;
        default -> 1;
      };
      if (r.hasCreateHold() && holds != null) {
        holds.add(r.getCreateHold().getHold().getHoldId());
      }
    }
    return entries;
  }

  private static String account(int i) {
    return "acct-" + i;
  }

  private static BatchOperation op(CreateAccountRequest r) {
    return BatchOperation.newBuilder().setCreateAccount(r).build();
  }

  private static BatchOperation op(DepositRequest r) {
    return BatchOperation.newBuilder().setDeposit(r).build();
  }

  private static BatchOperation op(ConsumeRequest r) {
    return BatchOperation.newBuilder().setConsume(r).build();
  }

  private static BatchOperation op(TransferRequest r) {
    return BatchOperation.newBuilder().setTransfer(r).build();
  }

  private static BatchOperation op(CreateHoldRequest r) {
    return BatchOperation.newBuilder().setCreateHold(r).build();
  }
}
