package fortress.ledger.twopc;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.write.Op;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import fortress.shard.v1.PrepareRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

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
   * Step 2 for several legs at once (PrepareLegs): submits them to the writer together, in chunks
   * of its batch size, and answers one outcome per leg, in order.
   */
  public CompletableFuture<List<Outcome>> prepareAll(List<PrepareRequest> legs) {
    return submitAll(legs.stream().map(Steps::prepareLeg).toList(), writer::submit).thenApply(outcomes -> {
      for (Outcome o : outcomes) {
        if (o instanceof Outcome.Ok) {
          failpoints.hit(Failpoints.PARTICIPANT_AFTER_PREPARE);
        }
      }
      return outcomes;
    });
  }

  /** Step 4, commit, for several transactions at once (CommitLegs), each as {@link #commit}. */
  public CompletableFuture<List<Outcome>> commitAll(List<String> txids, String from) {
    return submitAll(txids.stream().map(txid -> Steps.commitLeg(txid, from)).toList(), writer::submitTail);
  }

  /**
   * Submits the steps in chunks the writer takes whole, through {@code submit}; one outcome per
   * step, in order.
   */
  private CompletableFuture<List<Outcome>> submitAll(List<Op> ops,
      Function<List<Op>, CompletableFuture<List<Outcome>>> submit) {
    int chunk = writer.batchSizeMax();
    List<CompletableFuture<List<Outcome>>> parts = new ArrayList<>();
    for (int i = 0; i < ops.size(); i += chunk) {
      parts.add(submit.apply(ops.subList(i, Math.min(ops.size(), i + chunk))));
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Outcome> all = new ArrayList<>(ops.size());
      parts.forEach(p -> all.addAll(p.join()));
      checkState(all.size() == ops.size(), "the writer answered %s of %s steps", all.size(), ops.size());
      return all;
    });
  }

  /**
   * Step 4, commit: applies the credit once, if {@code from} is the leg's coordinator (null: the
   * sender's identity is not checked). The client has had its answer already, so the credit goes
   * as a tail ({@link Writer#submitTail}): it rides in the node's next batch and is acknowledged
   * once durable.
   */
  public CompletableFuture<Outcome> commit(String txid, String from) {
    return writer.submitTail(List.of(Steps.commitLeg(txid, from))).thenApply(outcomes -> outcomes.get(0));
  }

  /**
   * Step 4, abort: forgets the leg (or remembers the abort, so a late Prepare votes no), if
   * {@code from} is the leg's coordinator (null: not checked).
   */
  public CompletableFuture<Outcome> abort(String txid, String from) {
    return writer.submit(Steps.abortLeg(txid, from));
  }
}
