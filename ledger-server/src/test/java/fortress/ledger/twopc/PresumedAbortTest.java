package fortress.ledger.twopc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Ticker;
import fortress.core.store.TestPostgres;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.TestNode;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.card.CardVault;
import fortress.ledger.store.Database;
import fortress.ledger.store.TwoPhaseReader;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.PostgresStore;
import fortress.ledger.write.Writer;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's recorded presumed abort, step by step through a real writer on real
 * PostgreSQL (schema V5): a GetDecision for a txid with no record writes a tombstone, after which
 * a begin of that txid is refused and moves nothing; a begin already queued ahead of it lands first
 * and the answer is PENDING. Tombstones stay out of ListInDoubt and GetTotals.
 */
class PresumedAbortTest {
  private static final String TENANT = "t";
  private String url;
  private Database database;
  private Writer writer;
  private TwoPhaseReader reader;

  @BeforeEach
  void start() throws Exception {
    url = TestPostgres.newDatabase();
    database = Database.open(url, "postgres", "", 2);
    writer = new Writer(new PostgresStore(database.writer()), TestNode.randomKey(),
        new CardVault("n1", CardKeyring.of("k", TestNode.randomKey())), Clock.systemUTC(), Ticker.systemTicker(),
        UUID::randomUUID, 16, 64, 10, 60_000, 100, Telemetry.NOOP.meter());
    writer.start();
    reader = new TwoPhaseReader(database.reader());
    ok(Op.of(CreateAccountRequest.newBuilder().setRequestId("open").setTenantId(TENANT).setAccountId("a").build()));
    ok(Op.of(DepositRequest.newBuilder().setRequestId("fund").setTenantId(TENANT).setAccountId("a").setAmount(100)
        .build()));
  }

  @AfterEach
  void stop() throws Exception {
    writer.close();
    database.close();
  }

  private Outcome submit(Op op) throws Exception {
    return writer.submit(op).get(30, TimeUnit.SECONDS);
  }

  private Outcome ok(Op op) throws Exception {
    Outcome o = submit(op);
    assertThat(o).isInstanceOf(Outcome.Ok.class);
    return o;
  }

  private static TransferRequest transfer(String requestId) {
    return TransferRequest.newBuilder().setRequestId(requestId).setTenantId(TENANT).setFromAccountId("a")
        .setToAccountId("b").setAmount(30).build();
  }

  private static Decision decision(Outcome o) {
    return ((GetDecisionResponse) ((Outcome.Ok) o).response()).getDecision();
  }

  /** The account's balance and held amount, and the number of holds and journal entries, as stored. */
  private long[] stored() throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        PreparedStatement s = c.prepareStatement("SELECT balance, held, (SELECT count(*) FROM hold), "
            + "(SELECT count(*) FROM journal) FROM account WHERE account_id = 'a'");
        ResultSet rs = s.executeQuery()) {
      rs.next();
      return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)};
    }
  }

  @Test
  void presumeAbort_ofAnUnknownTxid_recordsATombstone_andABeginOfItIsRefused() throws Exception {
    long[] before = stored();

    Outcome told = ok(Steps.presumeAbort("tx-1", "n2"));
    Outcome begun = submit(Steps.begin(transfer("r1"), "tx-1", "n2"));

    assertThat(decision(told)).isEqualTo(Decision.DECISION_ABORTED);
    assertThat(reader.decision("tx-1")).isEqualTo(Decision.DECISION_ABORTED);
    assertThat(begun).isInstanceOf(Outcome.Failed.class);
    assertThat(((Outcome.Failed) begun).rejection().reason()).isEqualTo(ErrorReason.TRANSACTION_DECIDED);
    assertThat(((Outcome.Failed) begun).rejection().metadata()).containsEntry("decision", "ABORTED");
    assertThat(stored()).as("nothing held, nothing journalled").containsExactly(before);
    // Asked again, through the writer: the tombstone is loaded (it has no account) and answers the same.
    assertThat(decision(ok(Steps.presumeAbort("tx-1", "n2")))).isEqualTo(Decision.DECISION_ABORTED);
    // The request_id is free: a retry under a new txid begins.
    assertThat(ok(Steps.begin(transfer("r1"), "tx-2", "n2"))).isNotNull();
    assertThat(reader.decision("tx-2")).isEqualTo(Decision.DECISION_PENDING);
  }

  @Test
  void presumeAbort_queuedBehindABegin_answersPending_andTheTransferGoesOn() throws Exception {
    List<Outcome> both = writer.submit(List.of(Steps.begin(transfer("r2"), "tx-3", "n2"),
        Steps.presumeAbort("tx-3", "n2"))).get(30, TimeUnit.SECONDS);

    assertThat(both.get(0)).isInstanceOf(Outcome.Ok.class);
    assertThat(decision(both.get(1))).isEqualTo(Decision.DECISION_PENDING);
    assertThat(stored()[1]).as("held").isEqualTo(30);
    ok(Steps.abort("tx-3"));
    assertThat(decision(ok(Steps.presumeAbort("tx-3", "n2")))).isEqualTo(Decision.DECISION_ABORTED);
  }

  @Test
  void tombstones_stayOutOfInDoubtAndTotals() throws Exception {
    ok(Steps.presumeAbort("tx-4", ""));
    ok(Steps.presumeAbort("tx-5", "n3"));

    assertThat(reader.inDoubt("n1", 100, 0).getTotalCount()).isZero();
    assertThat(reader.totals("n1", 0, Set.of()).getInFlightCredit()).isZero();
    assertThat(reader.totals("n1", 0, Set.of()).getOverdueCredit()).isZero();
    assertThat(reader.backlog(0).total()).isZero();
  }
}
