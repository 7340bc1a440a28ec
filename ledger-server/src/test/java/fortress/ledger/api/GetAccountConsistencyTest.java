package fortress.ledger.api;

import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.LedgerConfig;
import fortress.ledger.TestNode;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.TransferRequest;
import io.grpc.StatusRuntimeException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * GetAccount while transfers stream between two accounts of one node: every answer is a
 * committed state, each reader sees an account's states in order, and no reader ever sees half a
 * transfer. A reader reads A, then B, then A again; when A did not move in between, A and B were
 * both current at the moment B was read, so their balances must add up to the conserved total.
 */
class GetAccountConsistencyTest {
  private static final String TENANT = "consistent";
  private static final long START = 1_000;
  private static final int WRITERS = 4;
  private static final int TRANSFERS_PER_WRITER = 150;
  private static final int READERS = 4;

  /** One answer a reader got. */
  private record Seen(String account, long sequence, long balance, long held) {}

  @Test
  void getAccount_duringTransfers_viewHoldsBoth_onlyWholeCommittedStates() throws Exception {
    check(1_000);
  }

  /** With room for one account, one side of each pair of reads comes from the view, the other from PostgreSQL. */
  @Test
  void getAccount_duringTransfers_viewHoldsOne_onlyWholeCommittedStates() throws Exception {
    check(1);
  }

  private static void check(int accountViewMax) throws Exception {
    try (TestNode node = new TestNode(c -> LedgerConfig.parse(new String[] {"--account-view-max=" + accountViewMax},
        Map.of()).withJdbc(c.jdbcUrl(), "postgres", "").withKeys(c.journalKey(), c.cardKey()))) {
      node.open(TENANT, "a", START);
      node.open(TENANT, "b", START);
      Queue<Seen> seen = new ConcurrentLinkedQueue<>();
      Queue<String> violations = new ConcurrentLinkedQueue<>();
      AtomicLong cuts = new AtomicLong();
      AtomicBoolean writing = new AtomicBoolean(true);
      ExecutorService pool = Executors.newFixedThreadPool(WRITERS + READERS);
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < READERS; r++) {
        readers.add(pool.submit(() -> read(node, writing, seen, violations, cuts)));
      }
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int first = w;
        writers.add(pool.submit(() -> transfer(node, first)));
      }
      for (Future<?> f : writers) {
        f.get();
      }
      writing.set(false);
      for (Future<?> f : readers) {
        f.get();
      }
      pool.shutdown();
      assertThat(violations).as("half transfers or states going back").isEmpty();
      assertThat(cuts.get()).as("pairs of reads checked against the total").isPositive();
      assertAllCommitted(node, seen);
      assertThat(node.account(TENANT, "a").getBalance() + node.account(TENANT, "b").getBalance())
          .isEqualTo(2 * START);
    }
  }

  private static Void transfer(TestNode node, int writer) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int i = 0; i < TRANSFERS_PER_WRITER; i++) {
      boolean forward = (writer + i) % 2 == 0;
      try {
        node.stub().transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(TENANT)
            .setFromAccountId(forward ? "a" : "b").setToAccountId(forward ? "b" : "a")
            .setAmount(1 + random.nextInt(50)).build());
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.FAILED_PRECONDITION);
      }
    }
    return null;
  }

  private static Void read(TestNode node, AtomicBoolean writing, Queue<Seen> seen, Queue<String> violations,
      AtomicLong cuts) {
    long lastA = 0;
    long lastB = 0;
    while (writing.get()) {
      Account a1 = node.account(TENANT, "a");
      Account b = node.account(TENANT, "b");
      Account a2 = node.account(TENANT, "a");
      for (Account x : List.of(a1, b, a2)) {
        seen.add(new Seen(x.getAccountId(), x.getSequence(), x.getBalance(), x.getHeld()));
      }
      if (a1.getSequence() < lastA || a2.getSequence() < a1.getSequence() || b.getSequence() < lastB) {
        violations.add("went back: a " + lastA + " → " + a1.getSequence() + " → " + a2.getSequence() + ", b "
            + lastB + " → " + b.getSequence());
      }
      lastA = a2.getSequence();
      lastB = b.getSequence();
      if (a1.getSequence() == a2.getSequence()) {
        cuts.incrementAndGet();
        if (a1.getBalance() + b.getBalance() != 2 * START) {
          violations.add("half a transfer: a " + a1 + " b " + b);
        }
      }
    }
    return null;
  }

  /** Every state a reader saw is the one a journal entry of that account left. */
  private static void assertAllCommitted(TestNode node, Queue<Seen> seen) throws Exception {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         PreparedStatement s = c.prepareStatement("SELECT j.balance_after, j.held_after FROM journal j "
             + "JOIN account a ON a.id = j.account_ref "
             + "WHERE a.tenant_id = ? AND a.account_id = ? AND j.sequence = ?")) {
      for (Seen x : new LinkedHashSet<>(seen)) {
        s.setString(1, TENANT);
        s.setString(2, x.account());
        s.setLong(3, x.sequence());
        try (ResultSet rs = s.executeQuery()) {
          assertThat(rs.next()).as("journal entry %s of %s", x.sequence(), x.account()).isTrue();
          assertThat(new long[] {rs.getLong(1), rs.getLong(2)}).as("%s", x)
              .containsExactly(x.balance(), x.held());
        }
      }
    }
  }
}
