package fortress.ledger.twopc;

import fortress.ledger.write.Writer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The coordinator's DONE records (TX_FINISH): committed transactions whose participant
 * acknowledged the credit. Each goes to the writer as a tail ({@link Writer#submitTail}), so it
 * rides in the next batch the node commits and forces no commit of its own while the node is busy.
 * Lost at a crash or refused by a full writer, which only means recovery re-sends Commit
 * (idempotent) and the participant acknowledges it again.
 *
 * <p>Until its DONE record is durable, a transaction stays {@linkplain #acknowledged()
 * acknowledged}: its row still says COMMITTED, but the participant holds the credit, so GetTotals
 * must not count it in flight as well.
 */
final class Finishes {
  private final Writer writer;
  /** Every txid acknowledged whose DONE submission has not ended. */
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();

  Finishes(Writer writer) {
    this.writer = writer;
  }

  /**
   * The participant acknowledged {@code txid}'s credit: records DONE as a tail. The txid counts
   * as acknowledged until that submission ends, committed or not: a refused DONE is counted in
   * flight again until recovery's Commit is acknowledged anew.
   */
  void add(String txid) {
    if (acknowledged.add(txid)) {
      writer.submitTail(List.of(Steps.finish(txid))).whenComplete((outcomes, e) -> acknowledged.remove(txid));
    }
  }

  /** Transactions acknowledged whose DONE record is not durable yet. */
  Set<String> acknowledged() {
    return Set.copyOf(acknowledged);
  }

  int size() {
    return acknowledged.size();
  }
}
