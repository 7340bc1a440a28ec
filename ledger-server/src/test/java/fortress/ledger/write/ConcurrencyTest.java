package fortress.ledger.write;

import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.TestNode;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.Entry;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.ListEntriesRequest;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = new TestNode();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Test
  void consume_32ThreadsOnOneAccount_neverNegativeAndTotalsExact() throws Exception {
    String tenant = "conc";
    long start = 10_000;
    node.open(tenant, "hot", start);
    int threads = 32;
    int perThread = 50;
    AtomicLong consumed = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    List<Callable<Void>> work = new ArrayList<>();
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < threads; t++) {
      int seed = t;
      work.add(() -> {
        go.await();
        for (int i = 0; i < perThread; i++) {
          long amount = 1 + (seed * 31L + i * 17L) % 13;
          try {
            ConsumeResponse r = node.stub().consume(ConsumeRequest.newBuilder().setRequestId(id())
                .setTenantId(tenant).setAccountId("hot").setAmount(amount).build());
            assertThat(r.getAccount().getBalance()).isNotNegative();
            consumed.addAndGet(amount);
          } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.FAILED_PRECONDITION);
            refused.incrementAndGet();
          }
        }
        return null;
      });
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<Void>> futures = new ArrayList<>();
    for (Callable<Void> w : work) {
      futures.add(pool.submit(w));
    }
    go.countDown();
    for (Future<Void> f : futures) {
      f.get();
    }
    pool.shutdown();

    long balance = node.account(tenant, "hot").getBalance();
    assertThat(balance).isEqualTo(start - consumed.get()).isNotNegative();
    assertThat(refused.get()).as("the account must have run dry").isPositive();
    List<Entry> entries = new ArrayList<>();
    String token = "";
    do {
      var page = node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant).setAccountId("hot")
          .setPageSize(1000).setPageToken(token).addKinds(EntryKind.ENTRY_KIND_CONSUME).build());
      entries.addAll(page.getEntriesList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    long fromJournal = entries.stream().mapToLong(Entry::getAmount).sum();
    assertThat(fromJournal).isEqualTo(consumed.get());
    assertThat(entries).allMatch(e -> e.getBalanceAfter() >= 0);
  }

  @Test
  void deposit_sameRequestIdFrom50Threads_takesEffectOnce() throws Exception {
    String tenant = "idem";
    node.open(tenant, "once", 0);
    DepositRequest request = DepositRequest.newBuilder().setRequestId("the-one").setTenantId(tenant)
        .setAccountId("once").setAmount(77).build();
    ExecutorService pool = Executors.newFixedThreadPool(50);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<DepositResponse>> futures = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      futures.add(pool.submit(() -> {
        go.await();
        return node.stub().deposit(request);
      }));
    }
    go.countDown();
    List<DepositResponse> responses = new ArrayList<>();
    for (Future<DepositResponse> f : futures) {
      responses.add(f.get());
    }
    pool.shutdown();
    assertThat(responses).hasSize(50).allMatch(r -> r.equals(responses.get(0)));
    assertThat(node.account(tenant, "once").getBalance()).isEqualTo(77);
    assertThat(node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant).setAccountId("once")
        .addKinds(EntryKind.ENTRY_KIND_DEPOSIT).build()).getEntriesCount()).isEqualTo(1);
  }
}
