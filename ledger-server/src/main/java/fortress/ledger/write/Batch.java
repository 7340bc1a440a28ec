package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkState;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import fortress.core.ring.HoldIds;
import fortress.core.ring.Ring;
import fortress.ledger.Reason;
import fortress.ledger.Rejection;
import fortress.ledger.card.CardVault;
import fortress.ledger.journal.Chain;
import fortress.ledger.journal.JournalRow;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateAccountResponse;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.HoldState;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.Account;
import fortress.shard.v1.AbortResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import fortress.shard.v1.TransactionState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Applies one writer batch in memory, in order, against the rows its {@link Snapshot} loaded.
 * Each operation validates everything before it changes anything, so a rejected operation leaves
 * no trace and affects no other. What the accepted ones produced (journal rows, account and hold
 * changes, idempotency records, sealed cards) is then written by {@link BatchStore} and committed
 * once.
 */
final class Batch {
  /** The journal head and the last account key: the writer's only state between batches. */
  record Head(long lastSequence, byte[] lastHash, long lastAccountId) {}

  record IdempotencyRecord(String tenantId, String requestId, int kind, byte[] requestHash, byte[] response,
      long createdMicros) {}

  record CardRow(long sequence, CardVault.Sealed sealed) {}

  private final Snapshot snapshot;
  private final Chain chain;
  private final Fingerprints fingerprints;
  private final CardVault vault;
  private final long nowMicros;
  private long sequence;
  private byte[] prevHash;
  private long accountId;

  final List<JournalRow> entries = new ArrayList<>();
  final List<CardRow> cards = new ArrayList<>();
  final List<IdempotencyRecord> recorded = new ArrayList<>();

  Batch(Snapshot snapshot, Head head, Chain chain, Fingerprints fingerprints, CardVault vault, long nowMicros) {
    this.snapshot = snapshot;
    this.chain = chain;
    this.fingerprints = fingerprints;
    this.vault = vault;
    this.nowMicros = nowMicros;
    this.sequence = head.lastSequence();
    this.prevHash = head.lastHash();
    this.accountId = head.lastAccountId();
  }

  Head head() {
    return new Head(sequence, prevHash, accountId);
  }

  Iterable<AccountRow> accounts() {
    return snapshot.accountsById.values();
  }

  Iterable<HoldRow> holds() {
    return snapshot.holds.values();
  }

  /** True when the batch has anything to write. */
  boolean changed() {
    if (!entries.isEmpty() || !recorded.isEmpty()) {
      return true;
    }
    for (CoordinatorRow r : snapshot.coordinators.values()) {
      if (r.inserted || r.changed) {
        return true;
      }
    }
    for (ParticipantRow r : snapshot.participants.values()) {
      if (r.inserted || r.changed) {
        return true;
      }
    }
    return false;
  }

  Iterable<CoordinatorRow> coordinators() {
    return snapshot.coordinators.values();
  }

  Iterable<ParticipantRow> participants() {
    return snapshot.participants.values();
  }

  /** Releases every loaded hold whose timeout has passed and that is still active. */
  int expireDueHolds() {
    int expired = 0;
    for (HoldRow h : snapshot.dueHolds) {
      if (h.state == HoldState.HOLD_STATE_ACTIVE && h.expireMicros != null && h.expireMicros <= nowMicros) {
        AccountRow a = h.account;
        append(a, EntryKind.ENTRY_KIND_HOLD_EXPIRED, h.amount, a.balance, a.held - h.amount, null, h.holdId, null, "");
        h.resolve(HoldState.HOLD_STATE_EXPIRED, 0, nowMicros);
        expired++;
      }
    }
    return expired;
  }

  Outcome apply(Op op) {
    if (op.kind().twoPhase() && op.kind() != OpKind.TX_BEGIN) {
      return applyStep(op);
    }
    String key = AccountRow.key(op.tenantId(), op.requestId());
    byte[] fingerprint = fingerprints.of(op);
    IdempotencyRecord prior = snapshot.idempotency.get(key);
    if (prior != null) {
      if (prior.kind() == op.kind().recordedAs().code() && Arrays.equals(prior.requestHash(), fingerprint)) {
        return Outcome.ok(parse(op.kind().recordedAs(), prior.response()));
      }
      return Outcome.failed(Rejection.of(Reason.REQUEST_ID_REUSED,
          "request_id " + op.requestId() + " was already used for a different request", "request_id", op.requestId()));
    }
    Outcome outcome = switch (op.kind()) {
      case CREATE_ACCOUNT -> createAccount(op, (CreateAccountRequest) op.request());
      case DEPOSIT -> deposit(op, (DepositRequest) op.request());
      case CONSUME -> consume(op, (ConsumeRequest) op.request());
      case TRANSFER -> transfer(op, (TransferRequest) op.request());
      case CREATE_HOLD -> createHold(op, (CreateHoldRequest) op.request());
      case CAPTURE_HOLD -> captureHold(op, (CaptureHoldRequest) op.request());
      case RELEASE_HOLD -> releaseHold(op, (ReleaseHoldRequest) op.request());
      case TX_BEGIN -> begin(op, (TransferRequest) op.request(), fingerprint);
      default -> throw new IllegalStateException("not a client operation: " + op.kind());
    };
    if (outcome instanceof Outcome.Ok ok && !op.kind().twoPhase()) {
      record(op.tenantId(), op.requestId(), op.kind().code(), fingerprint, ok.response());
    }
    return outcome;
  }

  private void record(String tenantId, String requestId, int kind, byte[] fingerprint, Message response) {
    IdempotencyRecord record = new IdempotencyRecord(tenantId, requestId, kind, fingerprint, response.toByteArray(),
        nowMicros);
    snapshot.idempotency.put(AccountRow.key(tenantId, requestId), record);
    recorded.add(record);
  }

  private Outcome applyStep(Op op) {
    String txid = op.tx().txid();
    return switch (op.kind()) {
      case TX_COMMIT, TX_ABORT -> decide(txid, op.tx().vote());
      case TX_FINISH -> finish(txid);
      case LEG_PREPARE -> prepareLeg((PrepareRequest) op.request());
      case LEG_COMMIT -> commitLeg(txid);
      case LEG_ABORT -> abortLeg(txid);
      default -> throw new IllegalStateException("not a two-phase commit step: " + op.kind());
    };
  }

  /**
   * Coordinator, step 1: holds the debit, tagged with the transaction, and records it as
   * PREPARING. A retry of a transfer still being decided joins it (TRANSFER_IN_PROGRESS names the
   * txid). Succeeds with the debited account.
   */
  private Outcome begin(Op op, TransferRequest r, byte[] fingerprint) {
    String txid = op.tx().txid();
    CoordinatorRow running = snapshot.undecided.get(AccountRow.key(r.getTenantId(), r.getRequestId()));
    if (running != null) {
      if (!Arrays.equals(running.requestHash, fingerprint)) {
        return Outcome.failed(Rejection.of(Reason.REQUEST_ID_REUSED,
            "request_id " + r.getRequestId() + " was already used for a different request", "request_id",
            r.getRequestId()));
      }
      return Outcome.failed(Rejection.of(Reason.TRANSFER_IN_PROGRESS, "transfer " + running.txid
          + " with this request_id is still being decided; retry with the same request_id", "txid", running.txid));
    }
    AccountRow from = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getFromAccountId()));
    if (from == null) {
      return accountNotFound(r.getFromAccountId());
    }
    if (from.available() < r.getAmount()) {
      return insufficient(from, r.getAmount());
    }
    append(from, EntryKind.ENTRY_KIND_HOLD_CREATED, r.getAmount(), from.balance, from.held + r.getAmount(),
        r.getRequestId(), txid, txid, r.getMemo());
    snapshot.holds.put(txid, new HoldRow(txid, from, r.getAmount(), 0, HoldState.HOLD_STATE_ACTIVE, null,
        r.getRequestId(), nowMicros, null, txid, true));
    CoordinatorRow c = new CoordinatorRow(txid, TransactionState.TRANSACTION_STATE_PREPARING, op.tx().peer(),
        r.getTenantId(), r.getRequestId(), fingerprint, from, r.getToAccountId(), r.getAmount(), r.getMemo(),
        nowMicros, null, null, true);
    snapshot.coordinators.put(txid, c);
    snapshot.undecided.put(AccountRow.key(r.getTenantId(), r.getRequestId()), c);
    return Outcome.ok(from.toProto());
  }

  /**
   * Coordinator, step 3: the decision, taken once. COMMITTED releases the hold and posts the debit
   * and records the client's TransferResponse, in this one transaction: the commit point. ABORTED
   * releases the hold. Deciding again the same way is refused with TRANSACTION_DECIDED, which names
   * the decision in force.
   */
  private Outcome decide(String txid, Account vote) {
    CoordinatorRow c = snapshot.coordinators.get(txid);
    if (c == null) {
      return Outcome.failed(Rejection.of(Reason.TRANSACTION_NOT_FOUND, "no transaction " + txid, "txid", txid));
    }
    if (c.state != TransactionState.TRANSACTION_STATE_PREPARING) {
      return decided(c.txid, c.state);
    }
    HoldRow h = snapshot.holds.get(txid);
    checkState(h != null && h.state == HoldState.HOLD_STATE_ACTIVE, "transaction %s lost its hold", txid);
    AccountRow from = c.from;
    snapshot.undecided.remove(AccountRow.key(c.tenantId, c.requestId));
    append(from, EntryKind.ENTRY_KIND_HOLD_RELEASED, c.amount, from.balance, from.held - c.amount, c.requestId,
        txid, txid, c.memo);
    if (vote == null) {
      h.resolve(HoldState.HOLD_STATE_RELEASED, 0, nowMicros);
      c.moveTo(TransactionState.TRANSACTION_STATE_ABORTED, nowMicros);
      return Outcome.ok(AbortResponse.getDefaultInstance());
    }
    append(from, EntryKind.ENTRY_KIND_TRANSFER_DEBIT, c.amount, from.balance - c.amount, from.held, c.requestId,
        txid, txid, c.memo);
    h.resolve(HoldState.HOLD_STATE_CAPTURED, c.amount, nowMicros);
    c.moveTo(TransactionState.TRANSACTION_STATE_COMMITTED, nowMicros);
    // The receiver as it voted, with this credit: the credit is certain from here on.
    Account to = vote.toBuilder().setBalance(vote.getBalance() + c.amount).setAvailable(vote.getAvailable() + c.amount)
        .build();
    TransferResponse response = TransferResponse.newBuilder()
        .setTransferId(txid)
        .setFromAccount(from.toProto())
        .setToAccount(to)
        .build();
    record(c.tenantId, c.requestId, OpKind.TRANSFER.code(), c.requestHash, response);
    return Outcome.ok(response);
  }

  /** Coordinator: the participant applied the commit, so the transaction is DONE. */
  private Outcome finish(String txid) {
    CoordinatorRow c = snapshot.coordinators.get(txid);
    if (c != null && c.state == TransactionState.TRANSACTION_STATE_COMMITTED) {
      c.moveTo(TransactionState.TRANSACTION_STATE_DONE, nowMicros);
    }
    return Outcome.ok(CommitRequest.newBuilder().setTxid(txid).build());
  }

  /** Participant, step 2: records the credit leg and votes yes, or refuses (a no vote). */
  private Outcome prepareLeg(PrepareRequest r) {
    ParticipantRow p = snapshot.participants.get(r.getTxid());
    if (p != null) {
      if (p.state == TransactionState.TRANSACTION_STATE_ABORTED) {
        return decided(p.txid, p.state);
      }
      return Outcome.ok(PrepareResponse.newBuilder().setAccount(p.account.toProto()).build());
    }
    AccountRow to = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getAccountId()));
    if (to == null) {
      return accountNotFound(r.getAccountId());
    }
    if (to.balance > Long.MAX_VALUE - r.getAmount()) {
      return overflow(r.getAccountId());
    }
    snapshot.participants.put(r.getTxid(), new ParticipantRow(r.getTxid(), TransactionState.TRANSACTION_STATE_PREPARED,
        r.getCoordinatorNodeId(), r.getTenantId(), to, r.getAmount(), r.getRequestId(), r.getMemo(), null, nowMicros,
        null, true));
    return Outcome.ok(PrepareResponse.newBuilder().setAccount(to.toProto()).build());
  }

  /** Participant, step 4: applies the credit exactly once. */
  private Outcome commitLeg(String txid) {
    ParticipantRow p = snapshot.participants.get(txid);
    if (p == null) {
      return Outcome.failed(Rejection.of(Reason.TRANSACTION_NOT_FOUND, "no prepared leg of " + txid, "txid", txid));
    }
    if (p.state == TransactionState.TRANSACTION_STATE_ABORTED) {
      return decided(txid, p.state);
    }
    AccountRow to = p.account;
    if (p.state == TransactionState.TRANSACTION_STATE_PREPARED) {
      if (to.balance > Long.MAX_VALUE - p.amount) {
        return overflow(to.accountId);
      }
      long seq = append(to, EntryKind.ENTRY_KIND_TRANSFER_CREDIT, p.amount, to.balance + p.amount, to.held,
          p.requestId, null, txid, p.memo);
      p.resolve(TransactionState.TRANSACTION_STATE_COMMITTED, seq, nowMicros);
    }
    return Outcome.ok(CommitResponse.newBuilder().setAccount(to.toProto()).setEntrySequence(p.entrySequence).build());
  }

  /** Participant: forgets the leg; an Abort before any Prepare leaves a row so a late Prepare votes no. */
  private Outcome abortLeg(String txid) {
    ParticipantRow p = snapshot.participants.get(txid);
    if (p == null) {
      snapshot.participants.put(txid, new ParticipantRow(txid, TransactionState.TRANSACTION_STATE_ABORTED, "", null,
          null, 0, null, null, null, nowMicros, nowMicros, true));
    } else if (p.state == TransactionState.TRANSACTION_STATE_COMMITTED) {
      return decided(txid, p.state);
    } else if (p.state == TransactionState.TRANSACTION_STATE_PREPARED) {
      p.resolve(TransactionState.TRANSACTION_STATE_ABORTED, null, nowMicros);
    }
    return Outcome.ok(AbortResponse.getDefaultInstance());
  }

  private static Outcome decided(String txid, TransactionState state) {
    boolean committed = state == TransactionState.TRANSACTION_STATE_COMMITTED
        || state == TransactionState.TRANSACTION_STATE_DONE;
    return Outcome.failed(new Rejection(Reason.TRANSACTION_DECIDED,
        "transaction " + txid + " is already " + (committed ? "committed" : "aborted"),
        java.util.Map.of("txid", txid, "decision", committed ? "COMMITTED" : "ABORTED")));
  }

  private Outcome createAccount(Op op, CreateAccountRequest r) {
    String key = AccountRow.key(r.getTenantId(), r.getAccountId());
    if (snapshot.accountsByKey.containsKey(key)) {
      return Outcome.failed(Rejection.of(Reason.ACCOUNT_ALREADY_EXISTS,
          "account " + r.getAccountId() + " already exists", "account_id", r.getAccountId()));
    }
    AccountRow a = snapshot.intern(new AccountRow(++accountId, r.getTenantId(), r.getAccountId(), 0, 0, 0,
        nowMicros, true));
    append(a, EntryKind.ENTRY_KIND_ACCOUNT_CREATED, 0, 0, 0, op.requestId(), null, null, "");
    return Outcome.ok(CreateAccountResponse.newBuilder().setAccount(a.toProto()).build());
  }

  private Outcome deposit(Op op, DepositRequest r) {
    AccountRow a = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getAccountId()));
    if (a == null) {
      return accountNotFound(r.getAccountId());
    }
    if (a.balance > Long.MAX_VALUE - r.getAmount()) {
      return overflow(r.getAccountId());
    }
    long seq = append(a, EntryKind.ENTRY_KIND_DEPOSIT, r.getAmount(), a.balance + r.getAmount(), a.held,
        op.requestId(), null, null, r.getMemo());
    DepositResponse.Builder response = DepositResponse.newBuilder().setEntrySequence(seq);
    if (r.hasCard()) {
      CardVault.Sealed sealed = vault.seal(r.getCard(), seq);
      cards.add(new CardRow(seq, sealed));
      response.setCard(sealed.summary());
    }
    return Outcome.ok(response.setAccount(a.toProto()).build());
  }

  private Outcome consume(Op op, ConsumeRequest r) {
    AccountRow a = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getAccountId()));
    if (a == null) {
      return accountNotFound(r.getAccountId());
    }
    if (a.available() < r.getAmount()) {
      return insufficient(a, r.getAmount());
    }
    long seq = append(a, EntryKind.ENTRY_KIND_CONSUME, r.getAmount(), a.balance - r.getAmount(), a.held,
        op.requestId(), null, null, r.getMemo());
    return Outcome.ok(ConsumeResponse.newBuilder().setAccount(a.toProto()).setEntrySequence(seq).build());
  }

  private Outcome transfer(Op op, TransferRequest r) {
    AccountRow from = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getFromAccountId()));
    if (from == null) {
      return accountNotFound(r.getFromAccountId());
    }
    AccountRow to = snapshot.accountsByKey.get(AccountRow.key(Op.creditTenant(r), r.getToAccountId()));
    if (to == null) {
      return accountNotFound(r.getToAccountId());
    }
    if (from.available() < r.getAmount()) {
      return insufficient(from, r.getAmount());
    }
    if (to.balance > Long.MAX_VALUE - r.getAmount()) {
      return overflow(r.getToAccountId());
    }
    String transferId = "tr-" + UUID.randomUUID();
    append(from, EntryKind.ENTRY_KIND_TRANSFER_DEBIT, r.getAmount(), from.balance - r.getAmount(), from.held,
        op.requestId(), null, transferId, r.getMemo());
    append(to, EntryKind.ENTRY_KIND_TRANSFER_CREDIT, r.getAmount(), to.balance + r.getAmount(), to.held,
        op.requestId(), null, transferId, r.getMemo());
    return Outcome.ok(TransferResponse.newBuilder()
        .setTransferId(transferId)
        .setFromAccount(from.toProto())
        .setToAccount(to.toProto())
        .build());
  }

  private Outcome createHold(Op op, CreateHoldRequest r) {
    AccountRow a = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getAccountId()));
    if (a == null) {
      return accountNotFound(r.getAccountId());
    }
    if (a.available() < r.getAmount()) {
      return insufficient(a, r.getAmount());
    }
    String holdId = HoldIds.create(Ring.keyHash(a.tenantId, a.accountId));
    long expireMicros = nowMicros + r.getTimeoutSeconds() * 1_000_000L;
    append(a, EntryKind.ENTRY_KIND_HOLD_CREATED, r.getAmount(), a.balance, a.held + r.getAmount(),
        op.requestId(), holdId, null, r.getMemo());
    HoldRow hold = new HoldRow(holdId, a, r.getAmount(), 0, HoldState.HOLD_STATE_ACTIVE, expireMicros,
        op.requestId(), nowMicros, null, null, true);
    snapshot.holds.put(holdId, hold);
    return Outcome.ok(CreateHoldResponse.newBuilder().setHold(hold.toProto()).setAccount(a.toProto()).build());
  }

  private Outcome captureHold(Op op, CaptureHoldRequest r) {
    HoldRow h = snapshot.holds.get(r.getHoldId());
    Rejection unusable = unusable(h, r.getTenantId(), r.getHoldId());
    if (unusable != null) {
      return Outcome.failed(unusable);
    }
    long amount = r.hasAmount() ? r.getAmount() : h.amount;
    if (amount > h.amount) {
      return Outcome.failed(Rejection.of(Reason.CAPTURE_EXCEEDS_HOLD,
          "capture of " + amount + " exceeds hold " + h.holdId + " of " + h.amount, "hold_id", h.holdId));
    }
    AccountRow a = h.account;
    append(a, EntryKind.ENTRY_KIND_HOLD_CAPTURED, amount, a.balance - amount, a.held - amount,
        op.requestId(), h.holdId, null, r.getMemo());
    long remainder = h.amount - amount;
    if (remainder > 0) {
      append(a, EntryKind.ENTRY_KIND_HOLD_RELEASED, remainder, a.balance, a.held - remainder,
          op.requestId(), h.holdId, null, r.getMemo());
    }
    h.resolve(HoldState.HOLD_STATE_CAPTURED, amount, nowMicros);
    return Outcome.ok(CaptureHoldResponse.newBuilder().setHold(h.toProto()).setAccount(a.toProto()).build());
  }

  private Outcome releaseHold(Op op, ReleaseHoldRequest r) {
    HoldRow h = snapshot.holds.get(r.getHoldId());
    Rejection unusable = unusable(h, r.getTenantId(), r.getHoldId());
    if (unusable != null && unusable.reason() != Reason.HOLD_EXPIRED) {
      return Outcome.failed(unusable);
    }
    AccountRow a = h.account;
    append(a, EntryKind.ENTRY_KIND_HOLD_RELEASED, h.amount, a.balance, a.held - h.amount,
        op.requestId(), h.holdId, null, r.getMemo());
    h.resolve(HoldState.HOLD_STATE_RELEASED, 0, nowMicros);
    return Outcome.ok(ReleaseHoldResponse.newBuilder().setHold(h.toProto()).setAccount(a.toProto()).build());
  }

  /** Why a hold cannot be captured or released, or null if it can. Another tenant's hold is not found. */
  private Rejection unusable(HoldRow h, String tenantId, String holdId) {
    if (h == null || h.txid != null || !h.account.tenantId.equals(tenantId)) {
      return Rejection.of(Reason.HOLD_NOT_FOUND, "hold " + holdId + " does not exist", "hold_id", holdId);
    }
    if (h.state != HoldState.HOLD_STATE_ACTIVE) {
      return new Rejection(Reason.HOLD_NOT_ACTIVE, "hold " + holdId + " is already " + h.state,
          java.util.Map.of("hold_id", holdId, "state", h.state.name()));
    }
    if (h.expireMicros != null && h.expireMicros <= nowMicros) {
      return Rejection.of(Reason.HOLD_EXPIRED, "hold " + holdId + " has expired", "hold_id", holdId);
    }
    return null;
  }

  private long append(AccountRow a, EntryKind kind, long amount, long balanceAfter, long heldAfter,
      String requestId, String holdId, String transferId, String memo) {
    checkState(balanceAfter >= 0 && heldAfter >= 0 && heldAfter <= balanceAfter,
        "entry would break account %s: balance %s, held %s", a.id, balanceAfter, heldAfter);
    long seq = ++sequence;
    byte[] hash = chain.hash(prevHash, seq, a.id, kind.getNumber(), amount, balanceAfter, heldAfter, requestId,
        holdId, transferId, memo, nowMicros);
    entries.add(new JournalRow(seq, a.id, kind.getNumber(), amount, balanceAfter, heldAfter, requestId, holdId,
        transferId, memo, nowMicros, hash, chain.hmac(hash)));
    prevHash = hash;
    a.balance = balanceAfter;
    a.held = heldAfter;
    a.lastSequence = seq;
    a.changed = true;
    return seq;
  }

  private static Outcome accountNotFound(String accountId) {
    return Outcome.failed(Rejection.of(Reason.ACCOUNT_NOT_FOUND, "account " + accountId + " does not exist",
        "account_id", accountId));
  }

  private static Outcome insufficient(AccountRow a, long amount) {
    return Outcome.failed(new Rejection(Reason.INSUFFICIENT_FUNDS,
        "account " + a.accountId + " has " + a.available() + " available, " + amount + " requested",
        java.util.Map.of("account_id", a.accountId, "available", Long.toString(a.available()))));
  }

  private static Outcome overflow(String accountId) {
    return Outcome.failed(Rejection.of(Reason.BALANCE_OVERFLOW,
        "account " + accountId + " would exceed the largest balance", "account_id", accountId));
  }

  private static Message parse(OpKind kind, byte[] response) {
    try {
      return kind.responseParser().parseFrom(response);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored " + kind + " response cannot be parsed", e);
    }
  }
}
