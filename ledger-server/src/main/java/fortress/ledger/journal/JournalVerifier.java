package fortress.ledger.journal;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.ledger.v1.VerifyJournalResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/**
 * Walks the whole journal in one consistent snapshot: sequence numbering, the hash chain, each
 * HMAC, and a replay of every entry's effect that must reproduce its recorded balances. Finally
 * the replayed balances must equal the live account table. Reports the first bad sequence.
 *
 * <p>The entries stream in as one binary COPY (no per-entry objects, texts never decoded); the
 * calling thread numbers and replays them in order while a pool of {@code threads} checks hashes and
 * HMACs chunk by chunk ({@link JournalWalk}). Idle pool threads end after {@link #IDLE_THREAD_SECONDS}.
 */
public final class JournalVerifier {
  /** How long an idle checking thread lives. */
  static final long IDLE_THREAD_SECONDS = 30;
  /** Chunks out to the pool per verification, per thread: enough to keep every thread busy. */
  static final int CHUNKS_IN_FLIGHT_PER_THREAD = 2;
  private static final int FETCH_ROWS = 10_000;
  private static final String JOURNAL = "COPY (" + CopyRows.SELECT + ") TO STDOUT (FORMAT binary)";
  private static final String ACCOUNTS = "SELECT id, account_id, balance, held FROM account ORDER BY id";

  private final DataSource dataSource;
  private final byte[] key;
  private final ThreadPoolExecutor checks;
  private final int chunksInFlightMax;

  /** {@code threads}: how many threads check hashes and HMACs, shared by concurrent verifications. */
  public JournalVerifier(DataSource dataSource, byte[] key, int threads) {
    checkArgument(threads >= 1, "a journal verifier needs at least one thread, not %s", threads);
    this.dataSource = dataSource;
    this.key = key.clone();
    this.checks = new ThreadPoolExecutor(threads, threads, IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), new ThreadFactoryBuilder().setNameFormat("journal-verify-%d").setDaemon(true)
        .build());
    this.checks.allowCoreThreadTimeOut(true);
    this.chunksInFlightMax = CHUNKS_IN_FLIGHT_PER_THREAD * threads;
  }

  public VerifyJournalResponse verify() throws SQLException {
    Replay replay = new Replay();
    VerifyJournalResponse.Builder report = VerifyJournalResponse.newBuilder();
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try {
        Finding first = walk(c, replay, report);
        if (first == null) {
          compareAccounts(c, replay, report);
        } else {
          report.setFirstBadSequence(first.sequence()).setProblem(first.problem());
        }
      } finally {
        c.rollback();
      }
    }
    return report.setOk(report.getFirstBadSequence() == 0 && report.getMismatchedAccountId().isEmpty()).build();
  }

  private Finding walk(Connection c, Replay replay, VerifyJournalResponse.Builder report) throws SQLException {
    CopyRows rows = new CopyRows(c.unwrap(PGConnection.class).getCopyAPI().copyOut(JOURNAL));
    try (JournalWalk walk = new JournalWalk(checks, key, chunksInFlightMax)) {
      Finding first = walk.run(rows, replay);
      report.setEntriesChecked(first == null ? walk.entries() : first.position());
      return first;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while verifying the journal", e);
    }
  }

  private static void compareAccounts(Connection c, Replay replay, VerifyJournalResponse.Builder report)
      throws SQLException {
    long accounts = 0;
    try (PreparedStatement s = c.prepareStatement(ACCOUNTS)) {
      s.setFetchSize(FETCH_ROWS);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          accounts++;
          long[] state = replay.compare(rs.getLong(1));
          if (state == null || state[0] != rs.getLong(3) || state[1] != rs.getLong(4)) {
            report.setMismatchedAccountId(rs.getString(2)).setProblem("account " + rs.getString(2)
                + " holds balance " + rs.getLong(3) + "/held " + rs.getLong(4) + " but the journal replays to "
                + (state == null ? "nothing" : state[0] + "/" + state[1]));
            break;
          }
        }
      }
    }
    Long missing = report.getMismatchedAccountId().isEmpty() ? replay.uncompared() : null;
    if (missing != null) {
      report.setMismatchedAccountId("#" + missing)
          .setProblem("the journal has entries for an account missing from the account table");
    }
    report.setAccountsChecked(accounts);
  }
}
