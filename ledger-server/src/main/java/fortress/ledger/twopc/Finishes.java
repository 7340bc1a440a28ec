package fortress.ledger.twopc;

import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The coordinator's DONE records (TX_FINISH) waiting for a ride: committed transactions whose
 * participant acknowledged the credit. Each is queued right behind the next decision the
 * coordinator submits, so it lands in that decision's batch and forces no commit of its own; the
 * coordinator flushes them at once when it drives no transfer, and recovery at each round. Lost at
 * a crash or refused by a full writer, which only means recovery re-sends Commit (idempotent) and
 * the participant acknowledges it again.
 */
final class Finishes {
  /** At most this many DONE records follow one decision, or go in one submission. */
  static final int RIDERS_MAX = 256;

  private final Writer writer;
  private final Queue<String> waiting = new ConcurrentLinkedQueue<>();

  Finishes(Writer writer) {
    this.writer = writer;
  }

  void add(String txid) {
    waiting.add(txid);
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
    List<Op> riders = take(Math.min(RIDERS_MAX, writer.batchSizeMax() - 1));
    if (!riders.isEmpty()) {
      writer.submit(riders);
    }
    return done;
  }

  /** Submits every waiting DONE record, a batch at a time. */
  void flush() {
    int max = Math.min(RIDERS_MAX, writer.batchSizeMax());
    for (List<Op> ops = take(max); !ops.isEmpty(); ops = take(max)) {
      writer.submit(ops);
    }
  }

  private List<Op> take(int max) {
    List<Op> ops = new ArrayList<>();
    for (String txid; ops.size() < max && (txid = waiting.poll()) != null; ) {
      ops.add(Steps.finish(txid));
    }
    return ops;
  }
}
