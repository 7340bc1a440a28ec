package fortress.ledger.twopc;

import fortress.ledger.v1.ErrorReason;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import java.util.List;
import java.util.Map;
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
 * must not count it in flight as well. A DONE the writer refused (nothing written) leaves the
 * transaction acknowledged, and the next acknowledgement (recovery's Commit) submits DONE again. A
 * DONE whose commit was lost (it may have landed) is forgotten: if it did not land, GetTotals counts
 * the credit in flight again until recovery's Commit is acknowledged.
 */
final class Finishes {
  private final Writer writer;
  /** Every txid acknowledged whose DONE is not durable: true while a DONE submission is pending. */
  private final Map<String, Boolean> acknowledged = new ConcurrentHashMap<>();

  Finishes(Writer writer) {
    this.writer = writer;
  }

  /** The participant acknowledged {@code txid}'s credit: records DONE as a tail, unless one is pending. */
  void add(String txid) {
    if (!Boolean.TRUE.equals(acknowledged.put(txid, true))) {
      writer.submitTail(List.of(Steps.finish(txid))).whenComplete((outcomes, e) -> ended(txid, outcomes));
    }
  }

  private void ended(String txid, List<Outcome> outcomes) {
    Outcome outcome = outcomes == null ? null : outcomes.get(0);
    if (outcome instanceof Outcome.Ok
        || outcome instanceof Outcome.Failed failed && failed.rejection().reason() == ErrorReason.OUTCOME_UNKNOWN) {
      acknowledged.remove(txid);
    } else {
      acknowledged.replace(txid, true, false); // refused: still acknowledged, DONE goes again with the next ack
    }
  }

  /** Transactions acknowledged whose DONE record is not durable yet. */
  Set<String> acknowledged() {
    return Set.copyOf(acknowledged.keySet());
  }

  int size() {
    return acknowledged.size();
  }
}
