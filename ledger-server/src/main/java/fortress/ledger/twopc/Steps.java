package fortress.ledger.twopc;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.Accounts;
import fortress.ledger.Rejection;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.HoldState;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.write.AccountRow;
import fortress.ledger.write.Batch;
import fortress.ledger.write.HoldRow;
import fortress.ledger.write.Op;
import fortress.ledger.write.OpKind;
import fortress.ledger.write.Outcome;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.Decision;
import fortress.shard.v1.GetDecisionRequest;
import fortress.shard.v1.GetDecisionResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.TransactionState;
import java.util.List;
import java.util.Map;

/**
 * The durable steps of two-phase commit: what each one changes in the node's database, applied
 * by the node's single writer inside one group-commit transaction (see README.md, "Steps"). Each
 * step checks the state in force first: a step that already happened answers as it did, a step
 * the decision in force forbids answers TRANSACTION_DECIDED naming that decision, and every state
 * change goes through {@link Transitions}.
 */
public final class Steps {
  private Steps() {}

  /** Coordinator, step 1: hold the debit and record the transaction as PREPARING. */
  public static Op begin(TransferRequest r, String txid, String participant) {
    return new Op(OpKind.TX_BEGIN, r, r.getTenantId(), r.getRequestId(), List.of(r.getFromAccountId()), null,
        new Op.Tx(txid, participant, null));
  }

  /** Coordinator, step 3: decide COMMITTED, with the participant's yes vote. */
  public static Op commit(String txid, Account vote) {
    checkState(vote != null, "a commit needs the participant's vote");
    return new Op(OpKind.TX_COMMIT, CommitRequest.newBuilder().setTxid(txid).build(), null, null, List.of(), txid,
        new Op.Tx(txid, null, vote));
  }

  /** Coordinator, step 3: decide ABORTED. */
  public static Op abort(String txid) {
    return new Op(OpKind.TX_ABORT, AbortRequest.newBuilder().setTxid(txid).build(), null, null, List.of(), txid,
        new Op.Tx(txid, null, null));
  }

  /** Coordinator, after step 4: the participant acknowledged the commit. */
  public static Op finish(String txid) {
    return new Op(OpKind.TX_FINISH, CommitRequest.newBuilder().setTxid(txid).build(), null, null, List.of(), null,
        new Op.Tx(txid, null, null));
  }

  /**
   * Coordinator, GetDecision for a txid it has no record of: records the abort (a tombstone) so a
   * begin of that txid can never land after it, and answers with the decision in force.
   * {@code asking} is the node that asked (null: not known).
   */
  public static Op presumeAbort(String txid, String asking) {
    return new Op(OpKind.TX_PRESUME_ABORT, GetDecisionRequest.newBuilder().setTxid(txid).build(), null, null,
        List.of(), null, new Op.Tx(txid, asking, null));
  }

  /** Participant, step 2. */
  public static Op prepareLeg(PrepareRequest r) {
    return new Op(OpKind.LEG_PREPARE, r, null, null, List.of(r.getAccountId()), null,
        new Op.Tx(r.getTxid(), r.getCoordinatorNodeId(), null));
  }

  /**
   * Participant, step 4: apply the commit sent by node {@code from}, which must be the leg's
   * coordinator; null when this node acts on the coordinator's answer itself (recovery), or member
   * identities are not checked.
   */
  public static Op commitLeg(String txid, String from) {
    return new Op(OpKind.LEG_COMMIT, CommitRequest.newBuilder().setTxid(txid).build(), null, null, List.of(), null,
        new Op.Tx(txid, from, null));
  }

  /** Participant, step 4: apply the abort sent by {@code from} (as for {@link #commitLeg}). */
  public static Op abortLeg(String txid, String from) {
    return new Op(OpKind.LEG_ABORT, AbortRequest.newBuilder().setTxid(txid).build(), null, null, List.of(), null,
        new Op.Tx(txid, from, null));
  }

  /** Applies a step other than TX_BEGIN (which the batch applies with the client's operations). */
  public static Outcome apply(Batch b, Op op) {
    String txid = op.tx().txid();
    return switch (op.kind()) {
      case TX_COMMIT -> commit(b, txid, op.tx().vote());
      case TX_ABORT -> abort(b, txid);
      case TX_FINISH -> finish(b, txid);
      case TX_PRESUME_ABORT -> presumeAbort(b, txid, op.tx().peer());
      case LEG_PREPARE -> prepareLeg(b, (PrepareRequest) op.request());
      case LEG_COMMIT -> commitLeg(b, txid, op.tx().peer());
      case LEG_ABORT -> abortLeg(b, txid, op.tx().peer());
      default -> throw new IllegalStateException("not a two-phase commit step: " + op.kind());
    };
  }

  /**
   * Coordinator, step 1: holds the debit on the debited account, tagged with the transaction (no
   * timer: only the decision resolves it), and records PREPARING. Succeeds with the debited account.
   * The batch has already refused a request_id in use.
   */
  public static Outcome begin(Batch b, Op op, byte[] fingerprint) {
    TransferRequest r = (TransferRequest) op.request();
    String txid = op.tx().txid();
    CoordinatorRow prior = b.coordinator(txid);
    if (prior != null) {
      // A tombstone: the participant was told this transaction is aborted, so it never begins.
      checkState(prior.tombstone(), "transaction %s begun twice", txid);
      return decided(txid, prior.state());
    }
    AccountRow from = b.account(r.getTenantId(), r.getFromAccountId());
    if (from == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getFromAccountId()));
    }
    if (from.available() < r.getAmount()) {
      return Outcome.failed(Rejection.insufficientFunds(from.accountId, from.available(), r.getAmount()));
    }
    b.append(from, EntryKind.ENTRY_KIND_HOLD_CREATED, r.getAmount(), from.balance(), from.held() + r.getAmount(),
        r.getRequestId(), txid, txid, r.getMemo());
    b.holdForTransaction(txid, from, r.getAmount(), r.getRequestId());
    b.add(CoordinatorRow.create(txid, op.tx().peer(), r.getTenantId(), r.getRequestId(), fingerprint, from,
        r.getToAccountId(), r.getAmount(), r.getMemo(), b.nowMicros()));
    return Outcome.ok(from.toProto());
  }

  /**
   * Coordinator, step 3, the commit point: releases the hold and posts the debit, records the
   * client's TransferResponse under its request_id, and moves to COMMITTED, in one transaction.
   */
  private static Outcome commit(Batch b, String txid, Account vote) {
    CoordinatorRow c = b.coordinator(txid);
    if (c == null) {
      return notFound(txid);
    }
    if (c.state() != TransactionState.TRANSACTION_STATE_PREPARING) {
      return decided(txid, c.state());
    }
    AccountRow from = c.from;
    HoldRow h = releaseHold(b, c, HoldState.HOLD_STATE_CAPTURED);
    b.append(from, EntryKind.ENTRY_KIND_TRANSFER_DEBIT, c.amount, from.balance() - c.amount, from.held(),
        c.requestId, txid, txid, c.memo);
    checkState(h.captured() == c.amount, "transaction %s captured %s of %s", txid, h.captured(), c.amount);
    c.moveTo(TransactionState.TRANSACTION_STATE_COMMITTED, b.nowMicros());
    // The receiver as it voted, with this credit: the credit is certain from here on.
    Account to = vote.toBuilder().setBalance(vote.getBalance() + c.amount).setAvailable(vote.getAvailable() + c.amount)
        .build();
    TransferResponse response = TransferResponse.newBuilder()
        .setTransferId(txid)
        .setFromAccount(from.toProto())
        .setToAccount(Accounts.seenBy(c.tenantId, to))
        .build();
    b.record(c.tenantId, from.accountId, c.requestId, OpKind.TRANSFER, c.requestHash, response);
    return Outcome.ok(response);
  }

  /** Coordinator, step 3: releases the hold and moves to ABORTED. Nothing is recorded. */
  private static Outcome abort(Batch b, String txid) {
    CoordinatorRow c = b.coordinator(txid);
    if (c == null) {
      return notFound(txid);
    }
    if (c.state() != TransactionState.TRANSACTION_STATE_PREPARING) {
      return decided(txid, c.state());
    }
    releaseHold(b, c, HoldState.HOLD_STATE_RELEASED);
    c.moveTo(TransactionState.TRANSACTION_STATE_ABORTED, b.nowMicros());
    return Outcome.ok(AbortResponse.getDefaultInstance());
  }

  /** Journals the release of a transaction's hold and resolves it (CAPTURED on commit). */
  private static HoldRow releaseHold(Batch b, CoordinatorRow c, HoldState to) {
    HoldRow h = b.hold(c.txid);
    checkState(h != null && h.state() == HoldState.HOLD_STATE_ACTIVE && h.amount == c.amount,
        "transaction %s lost its hold", c.txid);
    AccountRow from = c.from;
    b.append(from, EntryKind.ENTRY_KIND_HOLD_RELEASED, c.amount, from.balance(), from.held() - c.amount, c.requestId,
        c.txid, c.txid, c.memo);
    h.resolve(to, to == HoldState.HOLD_STATE_CAPTURED ? c.amount : 0, b.nowMicros());
    return h;
  }

  /** Coordinator: the participant acknowledged the commit, so the transaction is DONE. */
  private static Outcome finish(Batch b, String txid) {
    CoordinatorRow c = b.coordinator(txid);
    if (c == null) {
      return notFound(txid);
    }
    if (c.state() != TransactionState.TRANSACTION_STATE_DONE) {
      c.moveTo(TransactionState.TRANSACTION_STATE_DONE, b.nowMicros());
    }
    return Outcome.ok(CommitResponse.getDefaultInstance());
  }

  /**
   * Coordinator, GetDecision for a txid read as unknown: writes a tombstone (ABORTED, no transfer)
   * if there is still no record, so a begin of it queued behind this step is refused; otherwise
   * answers the state in force (a begin that landed meanwhile is PENDING).
   */
  private static Outcome presumeAbort(Batch b, String txid, String asking) {
    CoordinatorRow c = b.coordinator(txid);
    if (c == null) {
      c = CoordinatorRow.tombstone(txid, asking == null ? "" : asking, b.nowMicros());
      b.add(c);
    }
    return Outcome.ok(GetDecisionResponse.newBuilder().setDecision(decision(c.state())).build());
  }

  /** What GetDecision answers for a coordinator's state. */
  public static Decision decision(TransactionState state) {
    return switch (state) {
      case TRANSACTION_STATE_PREPARING -> Decision.DECISION_PENDING;
      case TRANSACTION_STATE_COMMITTED, TRANSACTION_STATE_DONE -> Decision.DECISION_COMMITTED;
      case TRANSACTION_STATE_ABORTED -> Decision.DECISION_ABORTED;
      default -> throw new IllegalStateException("not a coordinator state: " + state);
    };
  }

  /**
   * Participant, step 2: checks the credited account can take the credit and records the leg as
   * PREPARED: a yes vote with the account. Nothing is journalled yet. A Prepare repeated with the
   * same leg votes as before; after an Abort it is refused (a no vote).
   */
  private static Outcome prepareLeg(Batch b, PrepareRequest r) {
    ParticipantRow p = b.participant(r.getTxid());
    if (p != null) {
      if (p.state() == TransactionState.TRANSACTION_STATE_ABORTED) {
        return decided(p.txid, p.state());
      }
      if (p.amount != r.getAmount() || !p.coordinator.equals(r.getCoordinatorNodeId())
          || !p.account.accountId.equals(r.getAccountId()) || !p.tenantId.equals(r.getTenantId())) {
        return Outcome.failed(Rejection.invalid("txid", "names a transaction prepared here with another leg"));
      }
      return Outcome.ok(PrepareResponse.newBuilder().setAccount(p.account.toProto()).build());
    }
    AccountRow to = b.account(r.getTenantId(), r.getAccountId());
    if (to == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getAccountId()));
    }
    if (to.balance() > Long.MAX_VALUE - r.getAmount()) {
      return Outcome.failed(Rejection.balanceOverflow(r.getAccountId()));
    }
    b.add(ParticipantRow.create(r.getTxid(), TransactionState.TRANSACTION_STATE_PREPARED, r.getCoordinatorNodeId(),
        r.getTenantId(), to, r.getAmount(), r.getRequestId(), r.getMemo(), b.nowMicros()));
    return Outcome.ok(PrepareResponse.newBuilder().setAccount(to.toProto()).build());
  }

  /**
   * Participant, step 4: applies the credit exactly once and moves to COMMITTED, if the decision
   * comes from the leg's coordinator.
   */
  private static Outcome commitLeg(Batch b, String txid, String from) {
    ParticipantRow p = b.participant(txid);
    if (p == null) {
      return Outcome.failed(Rejection.of(ErrorReason.TRANSACTION_NOT_FOUND, "no prepared leg of " + txid, "txid", txid));
    }
    if (!fromCoordinator(p, from)) {
      return notCoordinator(txid, from);
    }
    if (p.state() == TransactionState.TRANSACTION_STATE_ABORTED) {
      return decided(txid, p.state());
    }
    AccountRow to = p.account;
    if (p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
      if (to.balance() > Long.MAX_VALUE - p.amount) {
        return Outcome.failed(Rejection.balanceOverflow(to.accountId));
      }
      long seq = b.append(to, EntryKind.ENTRY_KIND_TRANSFER_CREDIT, p.amount, to.balance() + p.amount, to.held(),
          p.requestId, null, txid, p.memo);
      p.moveTo(TransactionState.TRANSACTION_STATE_COMMITTED, seq, b.nowMicros());
    }
    return Outcome.ok(CommitResponse.newBuilder().setAccount(to.toProto()).setEntrySequence(p.entrySequence())
        .build());
  }

  /**
   * Participant: forgets the leg, if the decision comes from its coordinator; an Abort before any
   * Prepare leaves a tombstone (naming its sender) so a late Prepare votes no.
   */
  private static Outcome abortLeg(Batch b, String txid, String from) {
    ParticipantRow p = b.participant(txid);
    if (p == null) {
      b.add(ParticipantRow.create(txid, TransactionState.TRANSACTION_STATE_ABORTED, from == null ? "" : from, null,
          null, 0, null, null, b.nowMicros()));
    } else if (!fromCoordinator(p, from)) {
      return notCoordinator(txid, from);
    } else if (p.state() == TransactionState.TRANSACTION_STATE_COMMITTED) {
      return decided(txid, p.state());
    } else if (p.state() == TransactionState.TRANSACTION_STATE_PREPARED) {
      p.moveTo(TransactionState.TRANSACTION_STATE_ABORTED, null, b.nowMicros());
    }
    return Outcome.ok(AbortResponse.getDefaultInstance());
  }

  /** Whether a decision sent by {@code from} (null: not checked) may settle this leg: only its coordinator's may. */
  private static boolean fromCoordinator(ParticipantRow p, String from) {
    return from == null || p.coordinator.isEmpty() || p.coordinator.equals(from);
  }

  private static Outcome notCoordinator(String txid, String from) {
    return Outcome.failed(Rejection.of(ErrorReason.NOT_COORDINATOR, "node " + from + " is not the coordinator of "
        + txid + ": only the node that prepared the leg may commit or abort it", "txid", txid));
  }

  private static Outcome notFound(String txid) {
    return Outcome.failed(Rejection.of(ErrorReason.TRANSACTION_NOT_FOUND, "no transaction " + txid, "txid", txid));
  }

  /** TRANSACTION_DECIDED naming the decision in force, in the metadata key {@code decision}. */
  static Outcome decided(String txid, TransactionState state) {
    boolean committed = Boolean.TRUE.equals(Transitions.committed(state));
    String decision = committed ? "COMMITTED" : "ABORTED";
    return Outcome.failed(new Rejection(ErrorReason.TRANSACTION_DECIDED,
        "transaction " + txid + " is already " + decision.toLowerCase(), Map.of("txid", txid, "decision", decision)));
  }
}
