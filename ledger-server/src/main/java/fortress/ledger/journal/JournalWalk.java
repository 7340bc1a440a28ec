package fortress.ledger.journal;

import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.FutureTask;

/**
 * One pass over the journal. The calling thread reads entries into chunks, checks their numbering
 * and replays their effects as it goes (cheap, and necessarily in order), and hands each full chunk
 * to the pool, where its hashes and HMACs are checked. At most {@code chunksInFlightMax} chunks are
 * out at once; the reader collects the oldest before handing out more (checking it itself if no
 * pool thread has started it), so memory stays bounded however long the journal is.
 *
 * <p>Chunks are collected in order, so the first chain problem collected is the earliest; reading
 * stops at the first problem of either kind, and the earlier of the two (by entry, then by check)
 * is the answer, exactly as a single-threaded walk would report it.
 */
final class JournalWalk implements AutoCloseable {
  private record Pending(EntryChunk chunk, FutureTask<Finding> check) {}

  private final ExecutorService pool;
  private final byte[] key;
  private final int chunksInFlightMax;
  private final ArrayDeque<Pending> inFlight = new ArrayDeque<>();
  private final ArrayDeque<EntryChunk> free = new ArrayDeque<>();
  private Finding broken;
  private long entries;

  JournalWalk(ExecutorService pool, byte[] key, int chunksInFlightMax) {
    this.pool = pool;
    this.key = key;
    this.chunksInFlightMax = chunksInFlightMax;
  }

  /** Entries read. */
  long entries() {
    return entries;
  }

  /** Reads, checks and replays entries until the end or the first problem; that problem, or null. */
  Finding run(CopyRows rows, Replay replay) throws SQLException, InterruptedException {
    try {
      Finding read = null;
      EntryChunk chunk = chunk(1, Chain.GENESIS);
      while (read == null && broken == null && rows.next(chunk)) {
        entries++;
        read = replay(rows, replay);
        if (chunk.full()) {
          byte[] last = chunk.lastHash();
          submit(chunk);
          chunk = chunk(entries + 1, last);
        }
      }
      if (chunk.rows > 0) {
        submit(chunk);
      }
      rows.drain();
      while (!inFlight.isEmpty()) {
        collectOldest();
      }
      return Finding.first(broken, read);
    } catch (RuntimeException e) {
      try {
        rows.drain();
      } catch (SQLException s) {
        e.addSuppressed(s);
      }
      throw e;
    }
  }

  private Finding replay(CopyRows rows, Replay replay) {
    String problem = replay.numbering(rows.sequence);
    if (problem != null) {
      return new Finding(entries, Finding.NUMBERING, rows.sequence, problem);
    }
    problem = replay.apply(rows.sequence, rows.accountRef, rows.kind, rows.amount, rows.balanceAfter, rows.heldAfter);
    return problem == null ? null : new Finding(entries, Finding.REPLAY, rows.sequence, problem);
  }

  private EntryChunk chunk(long firstPosition, byte[] previousHash) {
    EntryChunk chunk = free.isEmpty() ? new EntryChunk() : free.poll();
    chunk.reset(firstPosition, previousHash);
    return chunk;
  }

  private void submit(EntryChunk chunk) throws InterruptedException {
    while (inFlight.size() >= chunksInFlightMax) {
      collectOldest();
    }
    FutureTask<Finding> check = new FutureTask<>(() -> new ChainCheck(key).firstBroken(chunk));
    inFlight.add(new Pending(chunk, check));
    pool.execute(check);
  }

  private void collectOldest() throws InterruptedException {
    Pending oldest = inFlight.poll();
    // If no pool thread has started this chunk yet (they are busy, or descheduled on a loaded
    // machine), the reader checks it itself rather than wait; the pool then finds it done.
    oldest.check().run();
    Finding found;
    try {
      found = oldest.check().get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("checking a chunk of the journal failed", e.getCause());
    }
    if (broken == null) {
      broken = found;
    }
    free.add(oldest.chunk());
  }

  /** Abandons chunks still out after a failure; none is reused afterwards. */
  @Override
  public void close() {
    for (Pending p : inFlight) {
      p.check().cancel(false);
    }
    inFlight.clear();
  }
}
