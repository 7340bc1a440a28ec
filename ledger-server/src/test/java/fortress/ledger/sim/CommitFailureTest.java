package fortress.ledger.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Ticker;
import com.google.protobuf.Message;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.card.CardVault;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.write.ForwardingTransaction;
import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Store;
import fortress.ledger.write.Writer;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * What the writer tells its callers when COMMIT or the close after it fails: only PostgreSQL's own
 * error on COMMIT proves nothing was written; a failure without its answer leaves the outcome open,
 * and a close that fails after a durable commit changes nothing about the write.
 */
class CommitFailureTest {
  /** How the transaction fails. */
  private enum Fault { NONE, DRIVER_FAILS_AFTER_COMMIT, CONNECTION_LOST_AT_COMMIT, COMMIT_REFUSED, CLOSE_FAILS }

  /** The simulator's store, with one fault injected around COMMIT. */
  private static final class FaultyStore implements Store {
    final MemoryStore inner = new MemoryStore("n1");
    Fault fault = Fault.NONE;

    @Override
    public Transaction begin() throws SQLException {
      Transaction t = inner.begin();
      return new ForwardingTransaction(t) {
        @Override
        public void commit() throws SQLException {
          switch (fault) {
            case COMMIT_REFUSED -> throw new SQLException("deferred constraint violated", "23505");
            case CONNECTION_LOST_AT_COMMIT -> {
              super.commit();
              throw new SQLException("An I/O error occurred while sending to the backend", "08006");
            }
            case DRIVER_FAILS_AFTER_COMMIT -> {
              super.commit();
              throw new IllegalStateException("driver failure after the commit landed");
            }
            default -> super.commit();
          }
        }

        @Override
        public void close() throws SQLException {
          super.close();
          if (fault == Fault.CLOSE_FAILS) {
            throw new SQLException("connection reset while returning it to the pool", "08006");
          }
        }
      };
    }

    long balance() {
      return inner.accounts.values().iterator().next().balance();
    }
  }

  private static final CardVault SIM_CARDS = new CardVault("sim", CardKeyring.of("sim", new byte[32]));

  private final FaultyStore store = new FaultyStore();
  private final Writer writer = new Writer(store, new byte[32], SIM_CARDS,
      Clock.systemUTC(), Ticker.systemTicker(), UUID::randomUUID, 10, 100, 0, 3_600_000, 100, Telemetry.NOOP.meter());

  private List<Outcome> run(Message... requests) {
    List<CompletableFuture<Outcome>> outcomes = new java.util.ArrayList<>();
    for (Message r : requests) {
      outcomes.add(writer.submit(Op.of(r)));
    }
    while (outcomes.stream().anyMatch(f -> !f.isDone())) {
      writer.step();
    }
    return outcomes.stream().map(CompletableFuture::join).toList();
  }

  private static DepositRequest deposit(String requestId) {
    return DepositRequest.newBuilder().setRequestId(requestId).setTenantId("t").setAccountId("a").setAmount(5).build();
  }

  private static ErrorReason reason(Outcome o) {
    assertThat(o).isInstanceOf(Outcome.Failed.class);
    return ((Outcome.Failed) o).rejection().reason();
  }

  private void open() {
    assertThat(run(CreateAccountRequest.newBuilder().setRequestId("o").setTenantId("t").setAccountId("a").build()))
        .allMatch(o -> o instanceof Outcome.Ok);
  }

  @Test
  void aCommitThatFailsWithoutPostgresAnswer_isOutcomeUnknown_forTheWholeBatch_neverRetriedOneByOne() {
    for (Fault fault : new Fault[] {Fault.DRIVER_FAILS_AFTER_COMMIT, Fault.CONNECTION_LOST_AT_COMMIT}) {
      FaultyStore s = new FaultyStore();
      Writer w = new Writer(s, new byte[32], SIM_CARDS, Clock.systemUTC(),
          Ticker.systemTicker(), UUID::randomUUID, 10, 100, 0, 3_600_000, 100, Telemetry.NOOP.meter());
      CompletableFuture<Outcome> opened = w.submit(Op.of(CreateAccountRequest.newBuilder().setRequestId("o")
          .setTenantId("t").setAccountId("a").build()));
      while (!opened.isDone()) {
        w.step();
      }
      s.fault = fault;
      CompletableFuture<Outcome> d1 = w.submit(Op.of(deposit("d1")));
      CompletableFuture<Outcome> d2 = w.submit(Op.of(deposit("d2")));
      while (!d1.isDone() || !d2.isDone()) {
        w.step();
      }
      assertThat(List.of(reason(d1.join()), reason(d2.join()))).as("%s", fault)
          .containsOnly(ErrorReason.OUTCOME_UNKNOWN);
      assertThat(s.balance()).as("%s: the batch landed once, and was not applied again alone", fault).isEqualTo(10);

      CompletableFuture<Outcome> alone = w.submit(Op.of(deposit("d3")));
      while (!alone.isDone()) {
        w.step();
      }
      assertThat(reason(alone.join())).as("%s, one operation alone", fault).isEqualTo(ErrorReason.OUTCOME_UNKNOWN);
      assertThat(s.balance()).isEqualTo(15);
    }
  }

  @Test
  void aCommitPostgresRefused_changedNothing_andSaysSo() {
    open();
    store.fault = Fault.COMMIT_REFUSED;
    assertThat(reason(run(deposit("d1")).get(0))).isEqualTo(ErrorReason.STORAGE_REFUSED);
    assertThat(store.balance()).isZero();
  }

  @Test
  void aCloseThatFailsAfterTheCommit_leavesTheWriteAcknowledged() {
    open();
    store.fault = Fault.CLOSE_FAILS;
    assertThat(run(deposit("d1"))).allMatch(o -> o instanceof Outcome.Ok);
    assertThat(store.balance()).isEqualTo(5);
  }
}
