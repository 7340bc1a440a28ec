package fortress.bench;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.LedgerConfig;
import fortress.ledger.LedgerServer;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Journal verification at scale. Starts one ledger node on its own durable embedded PostgreSQL,
 * fills its journal with {@code --entries} real entries through the node's own write path
 * (SubmitBatch over gRPC: account openings, deposits, consumes, transfers, holds captured in full
 * or in part, released, or left to expire), then times VerifyJournal through the real stub against
 * baselines taken in the same run: {@code count(*)}, and a plain read of the same columns as
 * rows (JDBC, fetch size 10,000) and as a binary COPY, that is, the cost of just reading them.
 *
 * <pre>java -Xmx256m -cp benchmarks/target/benchmarks.jar fortress.bench.JournalBench [--entries=1000000]</pre>
 */
public final class JournalBench {
  private static final String COLUMNS = "sequence, account_ref, kind, amount, balance_after, held_after, created_at, "
      + "request_id, hold_id, transfer_id, memo, hash, hmac";
  private static final int FETCH_ROWS = 10_000;

  public static void main(String[] args) throws Exception {
    fortress.core.Settings s = new fortress.core.Settings(args, System.getenv());
    long entries = s.number("entries", 1_000_000, 1_000, 100_000_000, "journal entries to write before verifying");
    int accounts = s.integer("accounts", 10_000, 2, 1_000_000, "accounts the entries spread over");
    int lanes = s.integer("lanes", 4, 1, 64, "SubmitBatch calls in flight while filling");
    int runs = s.integer("runs", 3, 1, 100, "times each measure is taken (the table gives the median)");
    String nodeFlags = s.string("node-flags", "", "extra ledger node flags, space-separated");
    String keep = s.string("data-dir", "", "keep the node's database here and reuse it if it already holds "
        + "--entries entries (default: a temporary folder, deleted at the end)");
    Flags.finish(s, args);

    Path data = keep.isEmpty() ? Files.createTempDirectory("fortress-journal-bench") : Path.of(keep);
    List<String> flags = new ArrayList<>(List.of("--grpc-port=0", "--metrics-port=0", "--data-dir=" + data,
        "--hold-sweep-interval-ms=200"));
    flags.addAll(Arrays.stream(nodeFlags.split(" ")).filter(f -> !f.isBlank()).toList());
    LedgerConfig config = LedgerConfig.parse(flags.toArray(String[]::new), Map.of());
    try (LedgerServer node = LedgerServer.start(config)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        node.close();
        if (keep.isEmpty()) {
          ClosedLoop.deleteTree(data);
        }
      }, "bench-shutdown"));
      ManagedChannel channel = ClosedLoop.channel("127.0.0.1:" + node.port());
      String url = node.config().jdbcUrl();
      long already = head(url);
      if (already < entries) {
        checkState(already == 0, "--data-dir holds %s entries, fewer than --entries; start from an empty one", already);
        JournalFill.fill(channel, accounts, entries, lanes);
      } else {
        System.err.printf("reusing the %,d entries in %s%n", already, data);
      }
      long count = describe(url);
      var stub = LedgerServiceGrpc.newBlockingStub(channel);
      measure(url, stub, node.config().journalKey(), count, runs);
      channel.shutdownNow();
    }
  }

  private static long head(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT coalesce(max(sequence), 0) FROM journal")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static long describe(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement st = c.createStatement()) {
      st.execute("VACUUM ANALYZE journal");
      ResultSet rs = st.executeQuery("SELECT kind, count(*) FROM journal GROUP BY kind ORDER BY kind");
      StringBuilder kinds = new StringBuilder();
      while (rs.next()) {
        kinds.append(kinds.length() == 0 ? "" : ", ").append(fortress.ledger.v1.EntryKind.forNumber(rs.getInt(1)))
            .append(' ').append(rs.getLong(2));
      }
      rs = st.executeQuery("SELECT count(*), max(sequence), pg_size_pretty(pg_total_relation_size('journal')), "
          + "(SELECT count(*) FROM account) FROM journal");
      rs.next();
      checkState(rs.getLong(1) == rs.getLong(2), "the journal numbers %s entries up to %s", rs.getLong(1),
          rs.getLong(2));
      System.err.printf("journal: %,d entries over %,d accounts, %s on disk; by kind: %s%n", rs.getLong(1),
          rs.getLong(4), rs.getString(3), kinds);
      return rs.getLong(1);
    }
  }

  private static void measure(String url, LedgerServiceGrpc.LedgerServiceBlockingStub stub, byte[] key, long count,
      int runs) throws SQLException, IOException {
    String[] names = {"SELECT count(*) FROM journal", "read every column, JDBC rows (fetch size 10,000)",
        "PostgreSQL alone: the same COPY into /dev/null on the server",
        "read every column, COPY binary, ORDER BY sequence", "read every column, COPY binary, physical order",
        "the verifier before issue 18 (JDBC rows, one thread), in process", "VerifyJournal (gRPC)"};
    double[][] seconds = new double[names.length][runs];
    for (int run = 0; run < runs; run++) {
      seconds[0][run] = time(() -> countRows(url, count));
      seconds[1][run] = time(() -> readRows(url, count));
      seconds[2][run] = time(() -> copyOnServer(url));
      seconds[3][run] = time(() -> copyRows(url, " ORDER BY sequence"));
      seconds[4][run] = time(() -> copyRows(url, ""));
      seconds[5][run] = time(() -> rowByRow(url, key, count));
      seconds[6][run] = time(() -> verify(stub, count));
      double[] row = new double[names.length];
      for (int i = 0; i < names.length; i++) {
        row[i] = seconds[i][run];
      }
      System.err.printf("run %d: %s%n", run + 1, Arrays.toString(row));
    }
    double baseline = median(seconds[1]);
    System.out.printf("%n%,d journal entries, median (and best) of %d runs%n%n", count, runs);
    System.out.println("| measure | seconds | best | entries/s | × the JDBC read |");
    System.out.println("|---|---:|---:|---:|---:|");
    for (int i = 0; i < names.length; i++) {
      double m = median(seconds[i]);
      System.out.printf("| %s | %.3f | %.3f | %,.0f | %.2f |%n", names[i], m, Arrays.stream(seconds[i]).min()
          .orElseThrow(), count / m, m / baseline);
    }
  }

  private interface Timed {
    void run() throws SQLException, IOException;
  }

  private static double time(Timed t) throws SQLException, IOException {
    long start = System.nanoTime();
    t.run();
    return (System.nanoTime() - start) / 1e9;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static void countRows(String url, long count) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM journal")) {
      rs.next();
      checkState(rs.getLong(1) == count, "count(*) gave %s", rs.getLong(1));
    }
  }

  private static void readRows(String url, long count) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      c.setAutoCommit(false);
      long rows = 0;
      long sum = 0;
      try (PreparedStatement st = c.prepareStatement("SELECT " + COLUMNS + " FROM journal ORDER BY sequence")) {
        st.setFetchSize(FETCH_ROWS);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            rows++;
            sum += rs.getLong(1) + rs.getLong(2) + rs.getInt(3) + rs.getLong(4) + rs.getLong(5) + rs.getLong(6)
                + rs.getTimestamp(7).getNanos() + length(rs.getString(8)) + length(rs.getString(9))
                + length(rs.getString(10)) + length(rs.getString(11)) + rs.getBytes(12).length
                + rs.getBytes(13).length;
          }
        }
      }
      c.rollback();
      checkState(rows == count && sum != 0, "read %s rows", rows);
    }
  }

  private static int length(String s) {
    return s == null ? 0 : s.length();
  }

  private static void copyRows(String url, String order) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      CopyOut copy = c.unwrap(PGConnection.class).getCopyAPI()
          .copyOut("COPY (SELECT " + COLUMNS + " FROM journal" + order + ") TO STDOUT (FORMAT binary)");
      long bytes = 0;
      for (byte[] message = copy.readFromCopy(); message != null; message = copy.readFromCopy()) {
        bytes += message.length;
      }
      checkState(bytes > 0, "the COPY sent nothing");
    }
  }

  private static void copyOnServer(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement st = c.createStatement()) {
      st.execute("COPY (SELECT " + COLUMNS + " FROM journal ORDER BY sequence) TO '/dev/null' (FORMAT binary)");
    }
  }

  private static void rowByRow(String url, byte[] key, long count) throws SQLException {
    PGSimpleDataSource source = new PGSimpleDataSource();
    source.setURL(url);
    source.setUser("postgres");
    VerifyJournalResponse report = new RowByRowVerifier(source, key).verify();
    checkState(report.getOk() && report.getEntriesChecked() == count, "the row-by-row verifier: %s", report);
  }

  private static void verify(LedgerServiceGrpc.LedgerServiceBlockingStub stub, long count) {
    VerifyJournalResponse report = stub.withDeadlineAfter(10, TimeUnit.MINUTES)
        .verifyJournal(VerifyJournalRequest.getDefaultInstance());
    checkState(report.getOk() && report.getEntriesChecked() == count, "VerifyJournal: %s", report);
  }
}
