package fortress.ledger.write;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Ticker;
import fortress.core.store.TestPostgres;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.TestNode;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.card.CardVault;
import fortress.ledger.store.Database;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The writer's tails on real PostgreSQL: a tail rides in the next batch, ahead of what was
 * submitted after it; alone it commits once it has waited the tail delay; it counts against the
 * queue depth; and a writer that stops commits its tails rather than dropping them.
 */
class WriterTailTest {
  private static final String TENANT = "t";
  private static final long LONG_TAIL_MS = 60_000;
  private String url;
  private Database database;
  private Writer writer;
  /** The writer's wall clock, which a test may step. */
  private final AtomicLong wallOffsetMs = new AtomicLong();
  /** Runs once right after the next commit, on the writer's thread, if set. */
  private final AtomicReference<Runnable> afterCommit = new AtomicReference<>();

  private void start(long tailDelayMs, int batchSizeMax, int queueDepthMax) throws Exception {
    url = TestPostgres.newDatabase();
    database = Database.open(url, "postgres", "", 2);
    Clock wall = new Clock() {
      @Override
      public Instant instant() {
        return Instant.now().plusMillis(wallOffsetMs.get());
      }

      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
      }
    };
    PostgresStore postgres = new PostgresStore(database.writer());
    Store store = () -> {
      Store.Transaction tx = postgres.begin();
      return new ForwardingTransaction(tx) {
        @Override
        public void commit() throws SQLException {
          super.commit();
          Runnable then = afterCommit.getAndSet(null);
          if (then != null) {
            then.run();
          }
        }
      };
    };
    writer = new Writer(store, TestNode.randomKey(),
        new CardVault("n1", CardKeyring.of("k", TestNode.randomKey())), wall, Ticker.systemTicker(),
        UUID::randomUUID, batchSizeMax, queueDepthMax, tailDelayMs, 60_000, 100, Telemetry.NOOP.meter());
    writer.start();
    assertThat(writer.submit(open("a")).get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Ok.class);
  }

  @AfterEach
  void stop() throws Exception {
    if (writer != null) {
      writer.close();
      database.close();
    }
  }

  private static Op open(String account) {
    return Op.of(CreateAccountRequest.newBuilder().setRequestId("open-" + account).setTenantId(TENANT)
        .setAccountId(account).build());
  }

  private static Op deposit(String requestId, long amount) {
    return Op.of(DepositRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setAccountId("a")
        .setAmount(amount).build());
  }

  private static Op consume(String requestId, long amount) {
    return Op.of(ConsumeRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setAccountId("a")
        .setAmount(amount).build());
  }

  private static Outcome only(CompletableFuture<List<Outcome>> submitted) throws Exception {
    List<Outcome> outcomes = submitted.get(30, TimeUnit.SECONDS);
    assertThat(outcomes).hasSize(1);
    return outcomes.get(0);
  }

  /** The transactions that wrote the journal, as PostgreSQL numbers them, by request_id. */
  private long transactionOf(String requestId) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        PreparedStatement s = c.prepareStatement("SELECT xmin::text::bigint FROM idempotency WHERE request_id = ?")) {
      s.setString(1, requestId);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("a record of %s", requestId).isTrue();
        return rs.getLong(1);
      }
    }
  }

  @Test
  void aTail_ridesInTheNextBatch_aheadOfWhatCameAfterIt() throws Exception {
    start(LONG_TAIL_MS, 16, 64);
    CompletableFuture<List<Outcome>> tail = writer.submitTail(List.of(deposit("credit", 50)));
    Thread.sleep(200);
    assertThat(tail).as("a tail alone waits for a ride").isNotDone();

    // Only possible if the tail's credit is applied first.
    Outcome spent = writer.submit(consume("spend", 50)).get(30, TimeUnit.SECONDS);
    assertThat(spent).isInstanceOf(Outcome.Ok.class);
    assertThat(tail).as("the tail committed with the batch that took the next write").isDone();
    assertThat(only(tail)).isInstanceOf(Outcome.Ok.class);
    assertThat(transactionOf("credit")).as("one transaction for both").isEqualTo(transactionOf("spend"));
  }

  @Test
  void aTailAlone_commitsOnItsOwnOnceItHasWaitedTheDelay() throws Exception {
    start(300, 16, 64);
    long startNanos = System.nanoTime();
    CompletableFuture<List<Outcome>> tail = writer.submitTail(List.of(deposit("credit", 50)));
    assertThat(only(tail)).isInstanceOf(Outcome.Ok.class);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos)).isGreaterThanOrEqualTo(300);
    assertThat(writer.queueDepth()).isZero();
  }

  /** An NTP step back, or a VM restored from a snapshot: the tail's wait is not measured on the wall clock. */
  @Test
  void aTailAlone_stillCommits_whenTheWallClockStepsBack() throws Exception {
    start(300, 16, 64);
    CompletableFuture<List<Outcome>> tail = writer.submitTail(List.of(deposit("credit", 50)));
    wallOffsetMs.set(-TimeUnit.HOURS.toMillis(1));
    assertThat(tail.get(5, TimeUnit.SECONDS)).allMatch(o -> o instanceof Outcome.Ok);
  }

  @Test
  void tails_countAgainstTheQueueDepth() throws Exception {
    start(LONG_TAIL_MS, 4, 4);
    List<CompletableFuture<List<Outcome>>> tails = List.of(
        writer.submitTail(List.of(deposit("c1", 1), deposit("c2", 1))),
        writer.submitTail(List.of(deposit("c3", 1), deposit("c4", 1))));
    assertThat(writer.queueDepth()).isEqualTo(4);
    Outcome refused = writer.submit(deposit("d", 1)).get(30, TimeUnit.SECONDS);
    assertThat(refused).isInstanceOfSatisfying(Outcome.Failed.class,
        f -> assertThat(f.rejection().reason()).isEqualTo(ErrorReason.WRITER_QUEUE_FULL));
    refused = only(writer.submitTail(List.of(deposit("c5", 1))));
    assertThat(refused).isInstanceOfSatisfying(Outcome.Failed.class,
        f -> assertThat(f.rejection().reason()).isEqualTo(ErrorReason.WRITER_QUEUE_FULL));
    writer.close(); // commits the waiting tails
    for (CompletableFuture<List<Outcome>> t : tails) {
      assertThat(t.get(30, TimeUnit.SECONDS)).allMatch(o -> o instanceof Outcome.Ok);
    }
    writer = null;
    database.close();
  }

  /** Tails that fill the batch commit on their own first; the write behind them still lands whole. */
  @Test
  void tailsThatFillTheBatch_goFirst_andTheWriteBehindThemLandsWhole() throws Exception {
    start(LONG_TAIL_MS, 2, 16);
    CompletableFuture<List<Outcome>> tail = writer.submitTail(List.of(deposit("c1", 10), deposit("c2", 10)));
    List<Outcome> after = writer.submit(List.of(consume("s1", 10), consume("s2", 10))).get(30, TimeUnit.SECONDS);
    assertThat(after).allMatch(o -> o instanceof Outcome.Ok);
    assertThat(tail.get(30, TimeUnit.SECONDS)).allMatch(o -> o instanceof Outcome.Ok);
    assertThat(transactionOf("c1")).isEqualTo(transactionOf("c2")).isNotEqualTo(transactionOf("s1"));
    assertThat(transactionOf("s1")).isEqualTo(transactionOf("s2"));
  }

  /** More tails than one batch holds all land before the write submitted after them. */
  @Test
  void tailsOverSeveralBatches_allLandBeforeTheWriteAfterThem() throws Exception {
    start(LONG_TAIL_MS, 2, 16);
    List<CompletableFuture<List<Outcome>>> tails = List.of(writer.submitTail(List.of(deposit("c1", 10))),
        writer.submitTail(List.of(deposit("c2", 10))), writer.submitTail(List.of(deposit("c3", 10))));
    // Only possible once all three credits are applied.
    Outcome spent = writer.submit(consume("spend", 30)).get(30, TimeUnit.SECONDS);
    assertThat(spent).isInstanceOf(Outcome.Ok.class);
    for (CompletableFuture<List<Outcome>> t : tails) {
      assertThat(t).isDone();
      assertThat(only(t)).isInstanceOf(Outcome.Ok.class);
    }
    assertThat(transactionOf("c3")).as("the last tail rides with the write").isEqualTo(transactionOf("spend"));
  }

  /**
   * A tail submitted while the writer commits earlier tails, and a write submitted after it: the
   * write lands with or after the tail, though the tail came after the batch counted its tails.
   */
  @Test
  void aTailSubmittedWhileEarlierTailsCommit_landsBeforeAWriteSubmittedAfterIt() throws Exception {
    start(LONG_TAIL_MS, 3, 64);
    for (int i = 1; i <= 4; i++) {
      writer.submitTail(List.of(deposit("c" + i, 10)));
    }
    AtomicReference<CompletableFuture<List<Outcome>>> late = new AtomicReference<>();
    AtomicReference<CompletableFuture<Outcome>> spend = new AtomicReference<>();
    afterCommit.set(() -> { // after the first three tails committed, before the batch takes its writes
      late.set(writer.submitTail(List.of(deposit("c5", 10))));
      spend.set(writer.submit(consume("spend", 50))); // only possible with c5's credit
    });
    assertThat(writer.submit(open("b")).get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Ok.class);
    assertThat(spend.get().get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Ok.class);
    assertThat(only(late.get())).isInstanceOf(Outcome.Ok.class);
  }
}
