package fortress.ledger;

import com.google.protobuf.Message;
import fortress.ledger.store.Lookup;
import fortress.ledger.store.Reads;
import fortress.ledger.twopc.Coordinator;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.write.Op;
import fortress.ledger.write.OpKind;
import fortress.ledger.write.Outcome;
import fortress.ledger.write.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where each valid mutation runs: refused (another node owns its account), on this node's writer,
 * or, for a transfer whose credited account another node owns, as a two-phase commit this node
 * coordinates. Mutations given together apply in their order: each is queued for the writer after
 * the ones before it, a cross-node transfer's first step included. And what became of a mutation,
 * by its request_id.
 */
public final class Mutations {
  private final Writer writer;
  private final Coordinator coordinator;
  private final Ownership ownership;
  private final Reads reads;

  public Mutations(Writer writer, Coordinator coordinator, Ownership ownership, Reads reads) {
    this.writer = writer;
    this.coordinator = coordinator;
    this.ownership = ownership;
    this.reads = reads;
  }

  /**
   * The outcome of a mutation by its request_id, scoped to {@code accountId} (or, when that is
   * null, to the account of {@code holdId}), read in one snapshot: recorded, still being decided,
   * or absent, which then means it has not taken effect.
   */
  public CompletableFuture<Lookup> operation(String tenantId, String accountId, String holdId, String requestId) {
    return reads.run(records -> records.lookUp(tenantId, accountId, holdId, requestId));
  }

  /** Runs one valid mutation. */
  public CompletableFuture<Outcome> submit(Message request) {
    return submitAll(List.of(request)).thenApply(outcomes -> outcomes.get(0));
  }

  /** Runs valid mutations in order; one outcome each, in the same order. */
  public CompletableFuture<List<Outcome>> submitAll(List<? extends Message> requests) {
    Outcome[] outcomes = new Outcome[requests.size()];
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    List<Op> local = new ArrayList<>();
    List<Integer> positions = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      Op op = Op.of(requests.get(i));
      Rejection refused = refusal(op);
      String participant = refused == null ? participant(op) : null;
      if (refused != null) {
        outcomes[i] = Outcome.failed(refused);
      } else if (participant == null) {
        local.add(op);
        positions.add(i);
      } else {
        pending.add(flush(local, positions, outcomes));
        int at = i;
        pending.add(coordinator.transfer((TransferRequest) op.request(), participant)
            .thenAccept(o -> outcomes[at] = o));
      }
    }
    pending.add(flush(local, positions, outcomes));
    return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(v -> List.of(outcomes));
  }

  /** Queues the local operations gathered so far as one submission, and starts a new gathering. */
  private CompletableFuture<Void> flush(List<Op> local, List<Integer> positions, Outcome[] outcomes) {
    if (local.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    List<Op> ops = List.copyOf(local);
    List<Integer> at = List.copyOf(positions);
    local.clear();
    positions.clear();
    return writer.submit(ops).thenAccept(results -> {
      for (int j = 0; j < at.size(); j++) {
        outcomes[at.get(j)] = results.get(j);
      }
    });
  }

  /** WRONG_NODE if another node owns the account the mutation routes by, else null. */
  private Rejection refusal(Op op) {
    // A transfer's first account is the debited one, whose node coordinates.
    return op.holdId() != null ? ownership.refuseHold(op.holdId())
        : ownership.refuse(op.tenantId(), op.accountIds().get(0));
  }

  /** The node owning a transfer's credited account, when it is another node; else null. */
  private String participant(Op op) {
    if (op.kind() != OpKind.TRANSFER) {
      return null;
    }
    String owner = ownership.owner(op.accountTenant(1), op.accountIds().get(1));
    return owner.equals(ownership.nodeId()) ? null : owner;
  }
}
