package fortress.ledger.write;

import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.ledger.LedgerConfig;
import fortress.ledger.TestNode;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.TransferRequest;
import io.grpc.Status.Code;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The node's account view through real stubs, against a real PostgreSQL: GetAccount shows only
 * committed states, forgets accounts whose write failed, answers evicted accounts from
 * PostgreSQL and is rebuilt on restart.
 */
class AccountViewTest {
  private static final String TENANT = "view";
  /** A journal memo that makes the test trigger stall the COMMIT, then refuse it. */
  private static final String REFUSED_AT_COMMIT = "refused-at-commit";
  /** A journal memo that makes the test trigger stall the COMMIT until the test kills the backend. */
  private static final String STALLED_AT_COMMIT = "stalled-at-commit";

  /** The account as PostgreSQL holds it: balance, held, last sequence. */
  private record Stored(long balance, long held, long sequence) {}

  /** The view's answer and PostgreSQL's (as of the account's own last sequence) are the same bytes. */
  @Test
  void getAccount_fromView_sameBytesAsFromDatabase() {
    try (TestNode node = new TestNode()) {
      node.open(TENANT, "a", 100);
      Account fromView = node.account(TENANT, "a");
      Account fromDatabase = node.stub.getAccount(GetAccountRequest.newBuilder().setTenantId(TENANT).setAccountId("a")
          .setAsOfSequence(fromView.getSequence()).build()).getAccount();
      assertThat(fromView.toByteString()).isEqualTo(fromDatabase.toByteString());
    }
  }

  @Test
  void getAccount_commitRefusedByDatabase_showsOnlyThePreviousCommittedBalance() throws Exception {
    try (TestNode node = new TestNode()) {
      node.open(TENANT, "a", 100);
      Account before = node.account(TENANT, "a");
      installCommitTrigger(node);
      Future<DepositResponse> deposit = futureStub(node).deposit(deposit("a", 50, REFUSED_AT_COMMIT));
      awaitBackendWaiting(node, "PgSleep");
      // The batch is applied in memory and written; its COMMIT has not returned.
      assertThat(node.account(TENANT, "a")).isEqualTo(before);
      assertRejected(() -> await(deposit), Code.FAILED_PRECONDITION, "STORAGE_REFUSED");
      assertThat(node.account(TENANT, "a")).isEqualTo(before);
      assertMatchesDatabase(node, "a");
      // The writer goes on from the committed state.
      assertThat(node.stub.deposit(deposit("a", 7, "")).getAccount().getBalance()).isEqualTo(107);
      assertThat(node.account(TENANT, "a").getBalance()).isEqualTo(107);
      assertMatchesDatabase(node, "a");
    }
  }

  @Test
  void getAccount_commitLostBeforeItLanded_showsWhatTheDatabaseHolds() throws Exception {
    try (TestNode node = new TestNode()) {
      node.open(TENANT, "a", 100);
      Account before = node.account(TENANT, "a");
      installCommitTrigger(node);
      Future<DepositResponse> deposit = futureStub(node).deposit(deposit("a", 50, STALLED_AT_COMMIT));
      int writer = awaitBackendWaiting(node, "PgSleep");
      assertThat(node.account(TENANT, "a")).isEqualTo(before);
      terminate(node, writer);
      assertRejected(() -> await(deposit), Code.UNAVAILABLE, "OUTCOME_UNKNOWN");
      assertThat(node.account(TENANT, "a").getBalance()).isEqualTo(100);
      assertMatchesDatabase(node, "a");
      assertThat(node.stub.deposit(deposit("a", 1, "")).getAccount().getBalance()).isEqualTo(101);
      assertMatchesDatabase(node, "a");
    }
  }

  /**
   * A COMMIT that is durable but whose answer never comes: PostgreSQL waits for a synchronous
   * standby that does not exist, and the test terminates the writer's backend, which commits
   * locally and drops the connection. The outcome is unknown to the writer, yet the deposit
   * landed: the view must not keep the old balance.
   */
  @Test
  void getAccount_commitLostAfterItLanded_showsWhatTheDatabaseHolds() throws Exception {
    try (TestNode node = new TestNode()) {
      node.open(TENANT, "a", 100);
      Account before = node.account(TENANT, "a");
      Future<DepositResponse> deposit;
      int writer;
      setSynchronousStandby(node, "fortress_view_test_absent");
      try {
        deposit = futureStub(node).deposit(deposit("a", 50, ""));
        writer = awaitBackendWaiting(node, "SyncRep");
        assertThat(node.account(TENANT, "a")).isEqualTo(before);
        terminate(node, writer);
      } finally {
        setSynchronousStandby(node, "");
      }
      assertRejected(() -> await(deposit), Code.UNAVAILABLE, "OUTCOME_UNKNOWN");
      assertThat(stored(node, "a").balance()).as("the lost commit landed").isEqualTo(150);
      assertThat(node.account(TENANT, "a").getBalance()).isEqualTo(150);
      assertMatchesDatabase(node, "a");
      // The writer's next batch starts from what landed, not from what it had before.
      assertThat(node.stub.deposit(deposit("a", 1, "")).getAccount().getBalance()).isEqualTo(151);
      assertMatchesDatabase(node, "a");
    }
  }

  @Test
  void getAccount_viewSmallerThanTheAccounts_evictedAccountsAnswerFromDatabase() throws Exception {
    try (TestNode node = new TestNode(c -> LedgerConfig.parse(new String[] {"--account-view-max=2"}, Map.of())
        .withJdbc(c.jdbcUrl(), "postgres", "").withKeys(c.journalKey(), c.cardKey()))) {
      int accounts = 12;
      for (int i = 0; i < accounts; i++) {
        node.open(TENANT, "e" + i, 10 + i);
      }
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < accounts; i++) {
          node.stub.transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(TENANT)
              .setFromAccountId("e" + i).setToAccountId("e" + ((i + 1) % accounts)).setAmount(1 + round).build());
        }
        for (int i = 0; i < accounts; i++) {
          assertMatchesDatabase(node, "e" + i);
        }
      }
      long total = 0;
      for (int i = 0; i < accounts; i++) {
        total += node.account(TENANT, "e" + i).getBalance();
      }
      assertThat(total).isEqualTo(accounts * 10L + accounts * (accounts - 1) / 2);
      assertRejected(() -> node.account(TENANT, "e" + accounts), Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
    }
  }

  /**
   * After a restart the view holds the accounts changed last, up to its maximum, as the database
   * holds them. To tell where an answer came from, the test then changes every row behind the
   * node's back: the accounts in the view keep their committed state, the others show the change.
   */
  @Test
  void restart_viewRebuiltFromDatabase_answersTheAccountsChangedLast() throws Exception {
    String url;
    byte[] journalKey;
    byte[] cardKey;
    try (TestNode first = new TestNode()) {
      for (int i = 0; i < 5; i++) {
        first.open(TENANT, "r" + i, 100 * (i + 1));
      }
      first.stub.transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setFromAccountId("r4")
          .setToAccountId("r0").setAmount(5).build());
      url = first.jdbcUrl;
      journalKey = first.server.config().journalKey();
      cardKey = first.server.config().cardKey();
    }
    try (TestNode restarted = new TestNode(c -> LedgerConfig.parse(new String[] {"--account-view-max=3"}, Map.of())
        .withJdbc(url, "postgres", "").withKeys(journalKey, cardKey))) {
      Map<String, Long> expected = Map.of("r0", 105L, "r1", 200L, "r2", 300L, "r3", 400L, "r4", 495L);
      for (var e : expected.entrySet()) {
        assertThat(restarted.account(TENANT, e.getKey()).getBalance()).isEqualTo(e.getValue());
        assertMatchesDatabase(restarted, e.getKey());
      }
      try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE account SET balance = balance + 1000000 WHERE tenant_id = '" + TENANT + "'");
      }
      // Changed last: r0 and r4 (the transfer), then r3 (its deposit). r1 and r2 were not in the view.
      for (String cached : new String[] {"r0", "r3", "r4"}) {
        assertThat(restarted.account(TENANT, cached).getBalance()).as(cached).isEqualTo(expected.get(cached));
      }
      for (String read : new String[] {"r1", "r2"}) {
        assertThat(restarted.account(TENANT, read).getBalance()).as(read).isEqualTo(expected.get(read) + 1_000_000);
      }
    }
  }

  @Test
  void accountViewMax_moreThanHalfTheHeap_refusedAtStart() {
    assertThatThrownBy(() -> LedgerConfig.parse(new String[] {"--account-view-max=100000000"}, Map.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("account-view-max (100000000) needs about");
    assertThat(LedgerConfig.parse(new String[] {"--account-view-max=0"}, Map.of()).accountViewMax()).isZero();
  }

  private static LedgerServiceGrpc.LedgerServiceFutureStub futureStub(TestNode node) {
    return LedgerServiceGrpc.newFutureStub(node.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** The call's response, or the StatusRuntimeException it failed with. */
  private static <T> T await(Future<T> call) throws Throwable {
    try {
      return call.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause();
    }
  }

  private static DepositRequest deposit(String account, long amount, String memo) {
    return DepositRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setAccountId(account)
        .setAmount(amount).setMemo(memo).build();
  }

  /**
   * A deferred constraint trigger on the journal, run at COMMIT: an entry with memo
   * {@link #REFUSED_AT_COMMIT} stalls 1.5 s, then refuses the commit; one with
   * {@link #STALLED_AT_COMMIT} stalls 60 s (the test kills the backend before).
   */
  private static void installCommitTrigger(TestNode node) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         Statement s = c.createStatement()) {
      s.execute("""
          CREATE FUNCTION view_test_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.memo = '%s' THEN
              PERFORM pg_sleep(1.5);
              RAISE EXCEPTION 'refused at commit by the test';
            ELSIF NEW.memo = '%s' THEN
              PERFORM pg_sleep(60);
            END IF;
            RETURN NULL;
          END $$""".formatted(REFUSED_AT_COMMIT, STALLED_AT_COMMIT));
      s.execute("""
          CREATE CONSTRAINT TRIGGER view_test_at_commit AFTER INSERT ON journal
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION view_test_at_commit()""");
    }
  }

  /** Server-wide (the test PostgreSQL is shared): with a standby named, every COMMIT waits for it. */
  private static void setSynchronousStandby(TestNode node, String name) throws Exception {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         Statement s = c.createStatement()) {
      s.execute(name.isEmpty() ? "ALTER SYSTEM RESET synchronous_standby_names"
          : "ALTER SYSTEM SET synchronous_standby_names = '" + name + "'");
      s.execute("SELECT pg_reload_conf()");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
           Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW synchronous_standby_names")) {
        rs.next();
        if (rs.getString(1).equals(name)) {
          return;
        }
      }
      assertThat(System.nanoTime()).as("synchronous_standby_names reloaded").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  /** The pid of the node's backend waiting on {@code waitEvent}, once it waits. */
  private static int awaitBackendWaiting(TestNode node, String waitEvent) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         PreparedStatement s = c.prepareStatement("SELECT pid FROM pg_stat_activity "
             + "WHERE datname = current_database() AND wait_event = ? AND pid <> pg_backend_pid()")) {
      s.setString(1, waitEvent);
      while (true) {
        try (ResultSet rs = s.executeQuery()) {
          if (rs.next()) {
            return rs.getInt(1);
          }
        }
        assertThat(System.nanoTime()).as("a backend waiting on " + waitEvent).isLessThan(deadline);
        Thread.sleep(10);
      }
    }
  }

  private static void terminate(TestNode node, int pid) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         PreparedStatement s = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
      s.setInt(1, pid);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
      }
    }
  }

  private static Stored stored(TestNode node, String account) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
         PreparedStatement s = c.prepareStatement(
             "SELECT balance, held, last_sequence FROM account WHERE tenant_id = ? AND account_id = ?")) {
      s.setString(1, TENANT);
      s.setString(2, account);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("account %s stored", account).isTrue();
        return new Stored(rs.getLong(1), rs.getLong(2), rs.getLong(3));
      }
    }
  }

  private static void assertMatchesDatabase(TestNode node, String account) throws SQLException {
    Account read = node.stub().getAccount(GetAccountRequest.newBuilder().setTenantId(TENANT).setAccountId(account)
        .build()).getAccount();
    assertThat(new Stored(read.getBalance(), read.getHeld(), read.getSequence())).as(account)
        .isEqualTo(stored(node, account));
    assertThat(read.getAvailable()).isEqualTo(read.getBalance() - read.getHeld());
  }
}
