package fortress.ledger.sim;

import fortress.ledger.journal.JournalRow;
import fortress.ledger.store.Lookup;
import fortress.ledger.twopc.CoordinatorRow;
import fortress.ledger.twopc.ParticipantRow;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.HoldState;
import fortress.ledger.write.AccountRow;
import fortress.ledger.write.Batch;
import fortress.ledger.write.HoldRow;
import fortress.shard.v1.TransactionState;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What must hold in every state of the cluster, checked after every commit and every answer:
 * <ul>
 *   <li>{@code conservation}: the sum of balances plus the credit genuinely in flight (committed by
 *       a coordinator, not yet applied by its participant) equals deposits minus consumption;
 *   <li>{@code negative-balance}: no balance, held amount or available amount below zero;
 *   <li>{@code hold-resolved-twice}: a hold leaves ACTIVE once and never changes again;
 *   <li>{@code decisions-differ}: coordinator and participant never hold different decisions for a
 *       transaction (nor does a participant apply a commit its coordinator has not made, nor a
 *       coordinator finish before its participant applied);
 *   <li>{@code abort-not-recorded}: a participant aborts a prepared leg only when its coordinator's
 *       abort is durable (presumed abort is recorded, as a tombstone if need be, before it is told),
 *       and no begin lands on a tombstone;
 *   <li>{@code request-twice}: a request_id takes effect at most once in its scope, cluster-wide;
 *   <li>{@code constraint}: the writer never sends the database a write that breaks a constraint;
 *   <li>{@code not-found-but-took-effect}: GetOperation never answers NOT_FOUND for a request that
 *       took effect or is being decided;
 *   <li>{@code acknowledged-not-durable}: an acknowledged mutation is recorded;
 *   <li>{@code undecided-too-long}: on a node that has served with a free writer for a while, no
 *       transaction stays PREPARING (recovery never starves);
 *   <li>after the faults stop, everything drains: nothing in doubt, no hold of a transaction left.
 * </ul>
 */
final class Invariants {
  private final Simulation sim;
  /** Credit committed by a coordinator and not yet applied by its participant, by txid. */
  private final Map<String, Long> inFlight = new TreeMap<>();
  /** Effects per (tenant, account, request_id). */
  private final Map<String, Integer> effects = new HashMap<>();
  /** When each transaction began, in simulated time (a node's clock may jump). */
  private final Map<String, Long> begun = new HashMap<>();
  private String violation;

  Invariants(Simulation sim) {
    this.sim = sim;
  }

  String violation() {
    return violation;
  }

  void fail(String invariant, String detail) {
    if (violation == null) {
      violation = invariant + ": " + detail;
    }
  }

  /** A batch just landed on {@code node}'s database. */
  void committed(SimNode node, Batch b) {
    checkEffects(node, b);
    for (CoordinatorRow c : b.coordinators()) {
      if (!c.dirty()) {
        continue;
      }
      if (c.tombstone()) {
        checkTombstone(node, c);
        continue;
      }
      MemoryStore.Leg leg = sim.node(c.participant).store.participants.get(c.txid);
      TransactionState legState = leg == null ? null : leg.state();
      switch (c.state()) {
        case TRANSACTION_STATE_PREPARING -> begun.put(c.txid, sim.scheduler.nowMicros());
        case TRANSACTION_STATE_COMMITTED -> {
          if (legState == TransactionState.TRANSACTION_STATE_ABORTED) {
            fail("decisions-differ", c.txid + " committed by " + node.id + ", aborted by " + c.participant);
          } else if (legState != TransactionState.TRANSACTION_STATE_COMMITTED) {
            inFlight.put(c.txid, c.amount);
          }
        }
        case TRANSACTION_STATE_DONE -> {
          if (legState != TransactionState.TRANSACTION_STATE_COMMITTED) {
            fail("decisions-differ", c.txid + " done on " + node.id + " while its leg is " + legState);
          }
        }
        case TRANSACTION_STATE_ABORTED -> {
          if (legState == TransactionState.TRANSACTION_STATE_COMMITTED) {
            fail("decisions-differ", c.txid + " aborted by " + node.id + ", committed by " + c.participant);
          }
        }
        default -> { }
      }
    }
    for (ParticipantRow p : b.participants()) {
      if (!p.dirty() || p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
        continue;
      }
      SimNode coordinator = p.coordinator.isEmpty() ? null : sim.node(p.coordinator);
      MemoryStore.Coordinated c = coordinator == null ? null : coordinator.store.coordinators.get(p.txid);
      Boolean committed = c == null ? null : switch (c.state()) {
        case TRANSACTION_STATE_COMMITTED, TRANSACTION_STATE_DONE -> true;
        case TRANSACTION_STATE_ABORTED -> false;
        default -> null;
      };
      if (p.state() == TransactionState.TRANSACTION_STATE_ABORTED && p.account != null
          && !Boolean.FALSE.equals(committed)) {
        fail("abort-not-recorded", p.txid + " aborted on " + node.id + " while its coordinator has "
            + (c == null ? "no record" : c.state()));
      }
      if (p.state() == TransactionState.TRANSACTION_STATE_COMMITTED) {
        if (!Boolean.TRUE.equals(committed)) {
          fail("decisions-differ", p.txid + " applied on " + node.id + " while its coordinator has "
              + (c == null ? "no record" : c.state()));
        }
        inFlight.remove(p.txid);
      } else if (Boolean.TRUE.equals(committed)) {
        fail("decisions-differ", p.txid + " aborted by " + node.id + ", committed by " + p.coordinator);
      }
    }
    checkHolds(node, b);
    checkBalances();
  }

  /** A tombstone just landed: no participant anywhere may have applied that transaction's credit. */
  private void checkTombstone(SimNode node, CoordinatorRow c) {
    sim.count("tombstones");
    for (SimNode n : sim.nodes()) {
      MemoryStore.Leg leg = n.store.participants.get(c.txid);
      if (leg != null && leg.state() == TransactionState.TRANSACTION_STATE_COMMITTED) {
        fail("decisions-differ", c.txid + " presumed aborted by " + node.id + ", committed by " + n.id);
      }
    }
  }

  private void checkHolds(SimNode node, Batch b) {
    for (HoldRow h : b.holds()) {
      if (h.dirty() && !h.inserted && h.state() == HoldState.HOLD_STATE_ACTIVE) {
        fail("hold-resolved-twice", h.holdId + " on " + node.id + " went back to ACTIVE");
      }
    }
  }

  /** Holds are compared before a batch lands: a resolved hold must never change; nor does a tombstone. */
  void beforeCommit(SimNode node, Batch b) {
    for (CoordinatorRow c : b.coordinators()) {
      MemoryStore.Coordinated before = node.store.coordinators.get(c.txid);
      if (c.dirty() && before != null && before.tombstone() && !c.tombstone()) {
        fail("abort-not-recorded", c.txid + " begun on " + node.id + " over its tombstone");
      }
    }
    for (HoldRow h : b.holds()) {
      MemoryStore.Hold before = node.store.holds.get(h.holdId);
      if (h.dirty() && before != null && before.state() != HoldState.HOLD_STATE_ACTIVE
          && (before.state() != h.state() || before.captured() != h.captured())) {
        fail("hold-resolved-twice", h.holdId + " on " + node.id + ": " + before.state() + " then " + h.state());
      }
    }
  }

  private static final Set<Integer> EFFECTS = Set.of(EntryKind.ENTRY_KIND_ACCOUNT_CREATED_VALUE,
      EntryKind.ENTRY_KIND_DEPOSIT_VALUE, EntryKind.ENTRY_KIND_CONSUME_VALUE, EntryKind.ENTRY_KIND_TRANSFER_DEBIT_VALUE,
      EntryKind.ENTRY_KIND_HOLD_CREATED_VALUE, EntryKind.ENTRY_KIND_HOLD_CAPTURED_VALUE,
      EntryKind.ENTRY_KIND_HOLD_RELEASED_VALUE);

  /**
   * Counts each request's effects: the entries a mutation writes on the account its request_id
   * belongs to (one operation may write two, a capture and the release of its remainder). The
   * steps of a cross-node transfer before its debit are not effects; its debit is.
   */
  private void checkEffects(SimNode node, Batch b) {
    Set<String> inBatch = new HashSet<>();
    for (JournalRow r : b.entries()) {
      if (r.requestId() == null || !EFFECTS.contains(r.kind())) {
        continue;
      }
      boolean twoPhaseStep = r.transferId() != null && r.transferId().startsWith("tx-")
          && r.kind() != EntryKind.ENTRY_KIND_TRANSFER_DEBIT_VALUE;
      if (twoPhaseStep) {
        continue;
      }
      MemoryStore.Account a = node.store.accounts.get(r.accountRef());
      inBatch.add(AccountRow.requestKey(a.tenantId(), a.accountId(), r.requestId()));
    }
    for (String key : inBatch) {
      if (effects.merge(key, 1, Integer::sum) > 1) {
        fail("request-twice", "request " + key.replace('\u0000', '/') + " took effect twice (on " + node.id + ")");
      }
    }
  }

  void checkBalances() {
    long balances = 0;
    long deposited = 0;
    long consumed = 0;
    for (SimNode n : sim.nodes()) {
      for (MemoryStore.Account a : n.store.accounts.values()) {
        if (a.balance() < 0 || a.held() < 0 || a.held() > a.balance()) {
          fail("negative-balance", a.accountId() + " on " + n.id + ": balance " + a.balance() + ", held " + a.held());
        }
        balances += a.balance();
      }
      deposited += n.store.deposited;
      consumed += n.store.consumed;
    }
    long flying = inFlight.values().stream().mapToLong(Long::longValue).sum();
    if (balances + flying != deposited - consumed) {
      fail("conservation", "balances " + balances + " + in flight " + flying + " != deposited " + deposited
          + " - consumed " + consumed);
    }
  }

  /** The store refused a write for a constraint: the code let through something it must not. */
  void constraint(SimNode node, String problem) {
    fail("constraint", node.id + ": " + problem);
  }

  /** GetOperation just answered NOT_FOUND (as of the read it just made). */
  void absent(SimNode node, String tenant, String account, String hold, String requestId) {
    MemoryStore.Account scope = node.store.scope(tenant, account, hold);
    if (scope == null) {
      return;
    }
    if (node.store.idempotency.containsKey(AccountRow.requestKey(tenant, scope.accountId(), requestId))) {
      fail("not-found-but-took-effect", requestId + " on " + scope.accountId() + " is recorded on " + node.id);
    }
    for (MemoryStore.Coordinated c : node.store.coordinators.values()) {
      if (!c.tombstone() && c.tenantId().equals(tenant) && c.requestId().equals(requestId) && c.fromRef() == scope.id()
          && c.state() != TransactionState.TRANSACTION_STATE_ABORTED) {
        fail("not-found-but-took-effect", requestId + " is transaction " + c.txid() + " " + c.state() + " on " + node.id);
      }
    }
  }

  /** A client was told OK: the mutation must be recorded. */
  void acknowledged(SimNode node, String tenant, String account, String hold, String requestId) {
    MemoryStore.Account scope = node.store.scope(tenant, account, hold);
    if (scope == null || !node.store.idempotency.containsKey(AccountRow.requestKey(tenant, scope.accountId(),
        requestId))) {
      fail("acknowledged-not-durable", requestId + " acknowledged by " + node.id + " but not recorded");
    }
  }

  /** No node that has served with a free writer for {@code windowMicros} has a PREPARING transaction older than that. */
  void undecidedTooLong(long windowMicros) {
    long now = sim.scheduler.nowMicros();
    for (SimNode n : sim.nodes()) {
      long healthy = n.healthySince();
      if (healthy < 0 || now - healthy < windowMicros) {
        continue;
      }
      for (MemoryStore.Coordinated c : n.store.coordinators.values()) {
        if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING && now - begun.get(c.txid()) > windowMicros) {
          fail("undecided-too-long", c.txid() + " on " + n.id + " PREPARING for "
              + (now - begun.get(c.txid())) / 1000 + " ms though the node has been healthy for "
              + (now - healthy) / 1000 + " ms (its age by the node's clock "
              + (n.clock.micros() - c.createdMicros()) / 1000 + " ms; " + n.current.coordinator.liveCount()
              + " transfers driven; queue " + n.current.writer.queueDepth() + ")");
          return;
        }
      }
    }
  }

  /** After the faults: anything still unfinished, or null when everything drained. */
  String unfinished() {
    for (SimNode n : sim.nodes()) {
      for (MemoryStore.Coordinated c : n.store.coordinators.values()) {
        if (c.state() == TransactionState.TRANSACTION_STATE_PREPARING
            || c.state() == TransactionState.TRANSACTION_STATE_COMMITTED) {
          return c.txid() + " " + c.state() + " on " + n.id;
        }
      }
      for (MemoryStore.Leg p : n.store.participants.values()) {
        if (p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
          return p.txid() + " PREPARED on " + n.id;
        }
      }
      for (MemoryStore.Hold h : n.store.holds.values()) {
        if (h.txid() != null && h.state() == HoldState.HOLD_STATE_ACTIVE) {
          return "the hold of " + h.txid() + " still active on " + n.id;
        }
      }
    }
    return inFlight.isEmpty() ? null : "credit of " + inFlight.keySet().iterator().next() + " still in flight";
  }
}
