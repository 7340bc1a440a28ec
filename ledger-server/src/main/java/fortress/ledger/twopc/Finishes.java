package fortress.ledger.twopc;

import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The coordinator's DONE records (TX_FINISH) waiting for a ride: committed transactions whose
 * participant acknowledged the credit. Each is queued right behind the next decision the
 * coordinator submits, so it lands in that decision's batch and forces no commit of its own; the
 * coordinator flushes them at once when it drives no transfer, and recovery at each round. Lost at
 * a crash or refused by a full writer, which only means recovery re-sends Commit (idempotent) and
 * the participant acknowledges it again.
 *
 * <p>Until its DONE record is durable, a transaction stays {@linkplain #acknowledged()
 * acknowledged}: its row still says COMMITTED, but the participant holds the credit, so GetTotals
 * must not count it in flight as well.
 */
final class Finishes {
  /** At most this many DONE records follow one decision, or go in one submission. */
  static final int RIDERS_MAX = 256;

  private final Writer writer;
  private final Queue<String> waiting = new ConcurrentLinkedQueue<>();
  /** Every txid added and not yet DONE: those waiting, and those whose DONE is being written. */
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();

  Finishes(Writer writer) {
    this.writer = writer;
  }

  void add(String txid) {
    acknowledged.add(txid);
    waiting.add(txid);
  }

  /**
   * Transactions whose participant acknowledged the credit and whose DONE is not durable yet. A
   * txid leaves only once its DONE submission has ended, committed or not: a refused DONE is
   * counted in flight again until recovery's Commit is acknowledged anew.
   */
  Set<String> acknowledged() {
    return Set.copyOf(acknowledged);
  }

  int size() {
    return waiting.size();
  }

  /**
   * Submits {@code op}, then right behind it as many waiting DONE records as fit in the batch with
   * it. They go as a submission of their own: a full writer refuses them, never {@code op}.
   */
  CompletableFuture<Outcome> submitWith(Op op) {
    CompletableFuture<Outcome> done = writer.submit(op);
    List<String> riders = take(Math.min(RIDERS_MAX, writer.batchSizeMax() - 1));
    if (!riders.isEmpty()) {
      submit(riders);
    }
    return done;
  }

  /** Submits every waiting DONE record, a batch at a time. */
  void flush() {
    int max = Math.min(RIDERS_MAX, writer.batchSizeMax());
    for (List<String> txids = take(max); !txids.isEmpty(); txids = take(max)) {
      submit(txids);
    }
  }

  private void submit(List<String> txids) {
    List<Op> ops = new ArrayList<>(txids.size());
    for (String txid : txids) {
      ops.add(Steps.finish(txid));
    }
    writer.submit(ops).whenComplete((outcomes, e) -> txids.forEach(acknowledged::remove));
  }

  private List<String> take(int max) {
    List<String> txids = new ArrayList<>();
    for (String txid; txids.size() < max && (txid = waiting.poll()) != null; ) {
      txids.add(txid);
    }
    return txids;
  }
}
