package fortress.ledger.twopc;

import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import fortress.shard.v1.PrepareRequest;
import java.util.concurrent.CompletableFuture;

/**
 * The participant's side of two-phase commit: the node that owns the credited account. It records
 * the leg and votes (step 2), then applies the decision its coordinator sends (step 4). Each is one
 * durable step of the writer, idempotent by txid. Recovery asks the coordinator for the decision
 * when none arrives ({@link Recovery}).
 */
public final class Participant {
  private final Writer writer;
  private final Failpoints failpoints;

  public Participant(Writer writer, Failpoints failpoints) {
    this.writer = writer;
    this.failpoints = failpoints;
  }

  /** Step 2: records the leg as PREPARED and votes yes with the account, or refuses (a no vote). */
  public CompletableFuture<Outcome> prepare(PrepareRequest r) {
    return writer.submit(Steps.prepareLeg(r)).thenApply(outcome -> {
      if (outcome instanceof Outcome.Ok) {
        failpoints.hit(Failpoints.PARTICIPANT_AFTER_PREPARE);
      }
      return outcome;
    });
  }

  /**
   * Step 4, commit: applies the credit once, if {@code from} is the leg's coordinator (null: the
   * sender's identity is not checked).
   */
  public CompletableFuture<Outcome> commit(String txid, String from) {
    return writer.submit(Steps.commitLeg(txid, from));
  }

  /**
   * Step 4, abort: forgets the leg (or remembers the abort, so a late Prepare votes no), if
   * {@code from} is the leg's coordinator (null: not checked).
   */
  public CompletableFuture<Outcome> abort(String txid, String from) {
    return writer.submit(Steps.abortLeg(txid, from));
  }
}
