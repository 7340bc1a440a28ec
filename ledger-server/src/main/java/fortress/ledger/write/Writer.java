package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.base.Ticker;
import fortress.core.store.Database;
import fortress.ledger.Rejection;
import fortress.ledger.Times;
import fortress.ledger.card.CardVault;
import fortress.ledger.journal.Chain;
import fortress.ledger.v1.ErrorReason;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's single writer. Callers enqueue submissions (one operation, or a SubmitBatch's
 * operations together); one thread takes up to {@code batchSizeMax} operations at a time, applies
 * them in order inside one PostgreSQL transaction and commits once (group commit), then answers
 * all of them. The same thread releases expired holds, so the sweeper never races live traffic.
 *
 * <p>A failed transaction is never half-applied. If COMMIT failed without PostgreSQL's answer (the
 * connection was lost, the driver failed), every operation in the batch gets OUTCOME_UNKNOWN: the
 * commit may have landed; resolve with GetOperation. If the database could not be reached before
 * that, they get STORAGE_UNAVAILABLE: nothing was written. If the data was refused, or an
 * operation broke an invariant (a bug, logged as an error), the operations are retried one at a
 * time, so a poisonous operation cannot fail its neighbours; one still refused alone gets
 * STORAGE_REFUSED.
 *
 * <p>The writer keeps the node's {@link AccountView} exact: after a durable commit it publishes
 * every account the batch read or wrote, and on any failure it drops the batch's accounts, so their
 * reads go to PostgreSQL until it commits them again. It also reads its accounts from the view
 * instead of loading them: the view holds only committed state and only the writer changes
 * accounts.
 *
 * <p>Work nobody waits on before answering a client (two-phase commit's tails: a participant's
 * credit, a coordinator's DONE record) goes in as a {@linkplain #submitTail tail}: it rides in the
 * next batch the writer commits for any reason, and forces a commit of its own only once it has
 * waited {@code tailDelayMs}. So a tail does not take a commit's time from the next client's write.
 * Tail delays and the sweep interval are measured on a monotonic ticker, so a wall clock stepped
 * back holds neither.
 *
 * <p>{@link #start} runs the writer on its own thread; the simulator instead calls {@link #step}
 * whenever it lets the writer run.
 */
public final class Writer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Writer.class);
  private static final long IDLE_POLL_MS = 10;
  private static final Rejection SHUTTING_DOWN =
      Rejection.of(ErrorReason.SHUTTING_DOWN, "the ledger node is shutting down");

  /**
   * Operations that must land together, in order, with their outcomes; the order they were
   * submitted in, across writes and tails; and, for a tail, when it stops waiting for a ride (0 for
   * any other submission).
   */
  private record Submission(List<Op> ops, CompletableFuture<List<Outcome>> done, long seq, long dueMs) {}

  private final Store store;
  private final AccountView view;
  private final Chain chain;
  private final Fingerprints fingerprints;
  private final CardVault vault;
  private final Clock clock;
  private final Ticker ticker;
  private final Supplier<UUID> uuids;
  private final int batchSizeMax;
  private final int queueDepthMax;
  private final long sweepIntervalMs;
  private final int sweepBatchMax;
  private final BlockingQueue<Submission> queue;
  /** Tails, in the order they were submitted (so the first is the first due). */
  private final Queue<Submission> tails = new ConcurrentLinkedQueue<>();
  private final long tailDelayMs;
  private final AtomicInteger queuedOps = new AtomicInteger();
  /** Numbers submissions, writes and tails alike, in the order they were submitted. */
  private final AtomicLong submitted = new AtomicLong();
  private final Thread thread;
  private volatile boolean accepting = true;
  private volatile boolean running = true;
  private Batch.Head head;
  /** On the ticker's scale; the first batch sweeps. */
  private long nextSweepMs = Long.MIN_VALUE;

  private final LongHistogram batchSizes;

  /** A writer with no account view (the simulator's). */
  public Writer(Store store, byte[] journalKey, CardVault vault, Clock clock, Ticker ticker, Supplier<UUID> uuids,
      int batchSizeMax, int queueDepthMax, long tailDelayMs, long sweepIntervalMs, int sweepBatchMax, Meter meter) {
    this(store, AccountView.off(), journalKey, vault, clock, ticker, uuids, batchSizeMax, queueDepthMax, tailDelayMs,
        sweepIntervalMs, sweepBatchMax, meter);
  }

  /**
   * {@code view}: the node's account view, already rebuilt from the database, which this writer
   * alone changes from now on. {@code clock}: the wall clock of timestamps and hold expiry.
   * {@code ticker}: monotonic time for tail delays and the sweep interval. {@code uuids}: where
   * transfer and hold ids come from (random, except in the simulator). {@code tailDelayMs}: how
   * long a tail waits for a ride (0: it goes at once).
   */
  public Writer(Store store, AccountView view, byte[] journalKey, CardVault vault, Clock clock, Ticker ticker,
      Supplier<UUID> uuids, int batchSizeMax, int queueDepthMax, long tailDelayMs, long sweepIntervalMs,
      int sweepBatchMax, Meter meter) {
    checkArgument(batchSizeMax > 0 && queueDepthMax >= batchSizeMax && tailDelayMs >= 0, "bad writer limits");
    this.tailDelayMs = tailDelayMs;
    this.store = store;
    this.view = view;
    this.uuids = uuids;
    this.chain = new Chain(journalKey);
    this.fingerprints = new Fingerprints(journalKey);
    this.vault = vault;
    this.clock = clock;
    this.ticker = ticker;
    this.batchSizeMax = batchSizeMax;
    this.queueDepthMax = queueDepthMax;
    this.sweepIntervalMs = sweepIntervalMs;
    this.sweepBatchMax = sweepBatchMax;
    this.queue = new ArrayBlockingQueue<>(queueDepthMax);
    this.thread = new Thread(this::run, "ledger-writer");
    this.batchSizes = meter.histogramBuilder("fortress.ledger.writer.batch.size").ofLongs().setUnit("{operation}")
        .setDescription("operations the writer committed in one transaction")
        .setExplicitBucketBoundariesAdvice(List.of(1L, 2L, 5L, 10L, 25L, 50L, 100L, 250L, 500L, 1000L)).build();
    meter.gaugeBuilder("fortress.ledger.writer.queue.depth").ofLongs().setUnit("{operation}")
        .setDescription("operations waiting for the writer").buildWithCallback(m -> m.record(queuedOps.get()));
    meter.gaugeBuilder("fortress.ledger.writer.queue.capacity").ofLongs().setUnit("{operation}")
        .setDescription("operations the writer queue holds before refusing with WRITER_QUEUE_FULL")
        .buildWithCallback(m -> m.record(queueDepthMax));
  }

  public void start() {
    thread.start();
  }

  /** The most operations one batch takes. */
  public int batchSizeMax() {
    return batchSizeMax;
  }

  /** Operations waiting for the writer. */
  public int queueDepth() {
    return queuedOps.get();
  }

  /** Enqueues operations that land in one transaction, in order. Never blocks. */
  public CompletableFuture<List<Outcome>> submit(List<Op> ops) {
    return enqueue(ops, false);
  }

  /**
   * Enqueues operations that land in one transaction, in order, as a tail: in the next batch the
   * writer commits, or in one of their own once they have waited the tail delay. They count
   * against the queue depth like any other. Never blocks.
   */
  public CompletableFuture<List<Outcome>> submitTail(List<Op> ops) {
    return enqueue(ops, tailDelayMs > 0);
  }

  private CompletableFuture<List<Outcome>> enqueue(List<Op> ops, boolean tail) {
    CompletableFuture<List<Outcome>> done = new CompletableFuture<>();
    if (ops.isEmpty()) {
      done.complete(List.of());
      return done;
    }
    if (!accepting) {
      return CompletableFuture.completedFuture(refuseAll(ops, SHUTTING_DOWN));
    }
    boolean taken = queuedOps.addAndGet(ops.size()) <= queueDepthMax
        && (tail ? tails.add(new Submission(ops, done, submitted.incrementAndGet(), tickerMs() + tailDelayMs))
            : queue.offer(new Submission(ops, done, submitted.incrementAndGet(), 0)));
    if (!taken) {
      queuedOps.addAndGet(-ops.size());
      return CompletableFuture.completedFuture(refuseAll(ops, Rejection.of(ErrorReason.WRITER_QUEUE_FULL,
          "the ledger node's write queue is full; retry with backoff")));
    }
    return done;
  }

  private long tickerMs() {
    return TimeUnit.NANOSECONDS.toMillis(ticker.read());
  }

  public CompletableFuture<Outcome> submit(Op op) {
    return submit(List.of(op)).thenApply(outcomes -> outcomes.get(0));
  }

  private void run() {
    while (running || !queue.isEmpty() || !tails.isEmpty()) {
      try {
        Submission tail = tails.peek();
        long waitMs = tail == null || !running ? IDLE_POLL_MS
            : Math.max(0, Math.min(IDLE_POLL_MS, tail.dueMs() - tickerMs()));
        Submission first = queue.poll(waitMs, TimeUnit.MILLISECONDS);
        runBatch(first);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    refuseQueued();
  }

  /**
   * Commits one batch if anything is queued or the sweep is due, without waiting; returns whether
   * it did. The simulator's way of letting the writer run.
   */
  public boolean step() {
    return runBatch(queue.poll());
  }

  /**
   * Commits one batch (with the sweep, if due): every tail submitted before {@code first} (without
   * it, before the batch started), in the order submitted, in batches of their own where they do
   * not fit one; then {@code first}; then writes and tails in the order submitted, up to the batch
   * size. A tail thus lands before any write submitted after it. Without {@code first}, a due sweep
   * or a due tail still makes a batch; tails that are not due make none on their own.
   */
  private boolean runBatch(Submission first) {
    long now = tickerMs();
    boolean sweepDue = now >= nextSweepMs;
    Submission tail = tails.peek();
    boolean tailDue = tail != null && (tail.dueMs() <= now || !running);
    if (first == null && !sweepDue && !tailDue) {
      return false;
    }
    List<Submission> taken = new ArrayList<>();
    int ops = 0;
    // Only the tails submitted before first (or before now): tails keep coming while these
    // commit, and first must not starve.
    long before = first != null ? first.seq() : submitted.get() + 1;
    for (Submission t; (t = tails.peek()) != null && t.seq() < before; ) {
      tails.poll();
      if (ops > 0 && ops + t.ops().size() > batchSizeMax) {
        commitTaken(taken, ops, sweepDue);
        taken = new ArrayList<>();
        ops = 0;
        sweepDue = false;
      }
      taken.add(t);
      ops += t.ops().size();
    }
    if (first != null && ops > 0 && ops + first.ops().size() > batchSizeMax) {
      commitTaken(taken, ops, sweepDue);
      taken = new ArrayList<>();
      ops = 0;
      sweepDue = false;
    }
    if (first != null) {
      taken.add(first);
      ops += first.ops().size();
    }
    // Then writes and tails in the order submitted, while they fit: a tail that came while the
    // earlier tails committed still lands before a write submitted after it.
    while (true) {
      Submission next = queue.peek();
      Submission t = tails.peek();
      boolean tailFirst = t != null && (next == null || t.seq() < next.seq());
      Submission take = tailFirst ? t : next;
      if (take == null || ops + take.ops().size() > batchSizeMax) {
        break;
      }
      taken.add(tailFirst ? tails.poll() : queue.poll());
      ops += take.ops().size();
    }
    commitTaken(taken, ops, sweepDue);
    return true;
  }

  private void commitTaken(List<Submission> taken, int ops, boolean sweep) {
    queuedOps.addAndGet(-ops);
    process(taken, sweep);
  }

  /** Answers everything still queued with SHUTTING_DOWN. */
  private void refuseQueued() {
    for (Submission s; (s = queue.poll()) != null || (s = tails.poll()) != null; ) {
      s.done().complete(refuseAll(s.ops(), SHUTTING_DOWN));
    }
  }

  private void process(List<Submission> submissions, boolean sweep) {
    List<Op> ops = new ArrayList<>();
    for (Submission s : submissions) {
      ops.addAll(s.ops());
    }
    if (!ops.isEmpty()) {
      batchSizes.record(ops.size());
    }
    try {
      List<Outcome> outcomes = commit(ops, sweep);
      complete(submissions, outcomes);
      if (sweep) {
        nextSweepMs = tickerMs() + sweepIntervalMs;
      }
    } catch (SQLException | RuntimeException e) {
      head = null;
      Throwable cause = e instanceof CommitLost lost ? lost.getCause() : e;
      boolean unreachable = cause instanceof SQLException sql && isConnectionProblem(sql);
      // A lost COMMIT is never retried one by one: the batch may be durable.
      if (e instanceof CommitLost || unreachable || ops.size() <= 1) {
        if (cause instanceof SQLException sql) {
          log.warn("write of {} operations failed ({}): {}", ops.size(), sql.getSQLState(), sql.getMessage());
        } else {
          log.error("write of {} operations broke an invariant and was rolled back", ops.size(), e);
        }
        fail(submissions, failure(e, unreachable));
        return;
      }
      log.warn("batch of {} operations refused; retrying one by one: {}", ops.size(), e.toString());
      for (Submission s : submissions) {
        List<Outcome> outcomes = new ArrayList<>();
        for (Op op : s.ops()) {
          outcomes.add(commitAlone(op));
        }
        s.done().complete(outcomes);
      }
    }
  }

  private Outcome commitAlone(Op op) {
    try {
      return commit(List.of(op), false).get(0);
    } catch (SQLException | RuntimeException e) {
      head = null;
      log.error("operation {} {} refused", op.kind(), op.requestId() != null ? op.requestId() : op.tx(), e);
      Throwable cause = e instanceof CommitLost lost ? lost.getCause() : e;
      return Outcome.failed(failure(e, cause instanceof SQLException sql && isConnectionProblem(sql)));
    }
  }

  /**
   * What a failed write tells its callers. Only a connection lost during COMMIT leaves the outcome
   * open: before it nothing was committed, and a COMMIT the database answered with an error rolled
   * back.
   */
  private static Rejection failure(Exception e, boolean unreachable) {
    if (e instanceof CommitLost) {
      return Rejection.of(ErrorReason.OUTCOME_UNKNOWN,
          "the ledger database was lost while the write committed; resolve the outcome with GetOperation");
    }
    return unreachable
        ? Rejection.of(ErrorReason.STORAGE_UNAVAILABLE, "the ledger database is unavailable; nothing was written, retry")
        : Rejection.of(ErrorReason.STORAGE_REFUSED, "the ledger database refused the write; nothing was written");
  }

  /** COMMIT failed without PostgreSQL's answer: the write may or may not be durable. */
  private static final class CommitLost extends RuntimeException {
    CommitLost(Exception cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  /**
   * Applies the operations in one transaction and commits; returns their outcomes in order. The
   * view learns the batch's accounts only once the commit returned; any failure drops them.
   */
  private List<Outcome> commit(List<Op> ops, boolean sweep) throws SQLException {
    Store.Transaction tx = store.begin();
    List<Outcome> outcomes = new ArrayList<>(ops.size());
    Batch batch;
    Snapshot snapshot = null;
    boolean committed = false;
    try {
      if (head == null) {
        head = tx.head();
      }
      long nowMicros = nowMicros();
      Map<AccountView.Key, AccountView.Entry> cached = view.cached(ops, head);
      snapshot = tx.load(LoadPlan.of(ops, sweep ? nowMicros : null, sweepBatchMax, cached.keySet()));
      AccountView.addTo(snapshot, cached);
      batch = new Batch(snapshot, head, chain, fingerprints, vault, uuids, nowMicros);
      if (sweep) {
        int expired = batch.expireDueHolds();
        if (expired > 0) {
          log.info("released {} expired holds", expired);
        }
      }
      for (Op op : ops) {
        outcomes.add(batch.apply(op));
      }
      if (batch.changed()) {
        tx.write(batch);
        view.markChanging(batch.accounts());
        try {
          tx.commit();
        } catch (SQLException | RuntimeException e) {
          // A COMMIT that PostgreSQL answered with an error rolled back; anything else (a lost
          // connection, a failure in the driver) may have come after the commit was durable.
          if (e instanceof SQLException sql && !Database.connectionLost(sql)) {
            throw sql;
          }
          throw new CommitLost(e);
        }
        committed = true;
      }
    } catch (SQLException | RuntimeException e) {
      view.drop(ops, snapshot);
      closeAfterFailure(tx, e);
      throw e;
    }
    try {
      tx.close();
    } catch (SQLException | RuntimeException e) {
      log.warn("closing a committed write failed; the write stands: {}", e.toString());
    }
    head = batch.head();
    if (committed) {
      publish(batch);
    }
    return outcomes;
  }

  /**
   * The commit is durable: the view gets every account the batch read or wrote. A broken
   * invariant here cannot fail the committed operations; the whole view is dropped instead.
   */
  private void publish(Batch batch) {
    try {
      view.publish(batch.accounts());
    } catch (RuntimeException e) {
      log.error("account view dropped: publishing a committed batch broke an invariant", e);
      view.clear();
    }
  }

  private static void closeAfterFailure(Store.Transaction tx, Exception failure) {
    try {
      tx.close();
    } catch (SQLException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private long nowMicros() {
    return Times.micros(clock.instant());
  }

  private static boolean isConnectionProblem(SQLException e) {
    String state = e.getSQLState();
    return state == null || state.startsWith("08") || state.startsWith("57") || state.startsWith("53");
  }

  private static void complete(List<Submission> submissions, List<Outcome> outcomes) {
    int i = 0;
    for (Submission s : submissions) {
      int n = s.ops().size();
      s.done().complete(Collections.unmodifiableList(new ArrayList<>(outcomes.subList(i, i + n))));
      i += n;
    }
  }

  private static void fail(List<Submission> submissions, Rejection why) {
    for (Submission s : submissions) {
      s.done().complete(refuseAll(s.ops(), why));
    }
  }

  private static List<Outcome> refuseAll(List<Op> ops, Rejection why) {
    List<Outcome> out = new ArrayList<>(ops.size());
    for (int i = 0; i < ops.size(); i++) {
      out.add(Outcome.failed(why));
    }
    return out;
  }

  /** Stops taking work, finishes everything already queued, and stops the thread. */
  @Override
  public void close() throws InterruptedException {
    accepting = false;
    running = false;
    thread.join();
    refuseQueued(); // anything enqueued while the thread was finishing
  }
}
