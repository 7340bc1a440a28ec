package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkState;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import fortress.core.ring.HoldIds;
import fortress.core.ring.Ring;
import fortress.ledger.Accounts;
import fortress.ledger.Rejection;
import fortress.ledger.card.CardVault;
import fortress.ledger.journal.Chain;
import fortress.ledger.journal.JournalRow;
import fortress.ledger.twopc.CoordinatorRow;
import fortress.ledger.twopc.ParticipantRow;
import fortress.ledger.twopc.Steps;
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
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.HoldState;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.shard.v1.TransactionState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Applies one writer batch in memory, in order, against the rows its {@link Snapshot} loaded.
 * Each operation validates everything before it changes anything, so a rejected operation leaves
 * no trace and affects no other. What the accepted ones produced (journal rows, account and hold
 * changes, idempotency records, sealed cards, two-phase commit rows) is then written by the
 * {@link Store} and committed once.
 *
 * <p>The client operations are here; the two-phase commit steps are {@link Steps}, which use the
 * public methods below.
 */
public final class Batch {
  /** The journal head and the last account key: the writer's only state between batches. */
  public record Head(long lastSequence, byte[] lastHash, long lastAccountId) {}

  /** A request_id's record: scoped to its tenant and the account its mutation acts on. */
  public record IdempotencyRecord(String tenantId, String accountId, String requestId, int kind, byte[] requestHash,
      byte[] response, long createdMicros) {}

  /** The sealed card of a deposit, stored beside its journal entry. */
  public record CardRow(long sequence, CardVault.Sealed sealed) {}

  private final Snapshot snapshot;
  private final Chain chain;
  private final Fingerprints fingerprints;
  private final CardVault vault;
  private final Supplier<UUID> uuids;
  private final long nowMicros;
  private long sequence;
  private byte[] prevHash;
  private long accountId;

  private final List<JournalRow> entries = new ArrayList<>();
  private final List<CardRow> cards = new ArrayList<>();
  private final List<IdempotencyRecord> recorded = new ArrayList<>();

  Batch(Snapshot snapshot, Head head, Chain chain, Fingerprints fingerprints, CardVault vault, Supplier<UUID> uuids,
      long nowMicros) {
    this.snapshot = snapshot;
    this.chain = chain;
    this.fingerprints = fingerprints;
    this.vault = vault;
    this.uuids = uuids;
    this.nowMicros = nowMicros;
    this.sequence = head.lastSequence();
    this.prevHash = head.lastHash();
    this.accountId = head.lastAccountId();
  }

  // What the batch produced, for the store.

  public Head head() {
    return new Head(sequence, prevHash, accountId);
  }

  public Iterable<AccountRow> accounts() {
    return snapshot.accountsById.values();
  }

  public Iterable<HoldRow> holds() {
    return snapshot.holds.values();
  }

  public List<JournalRow> entries() {
    return entries;
  }

  public List<CardRow> cards() {
    return cards;
  }

  public List<IdempotencyRecord> recorded() {
    return recorded;
  }

  public Iterable<CoordinatorRow> coordinators() {
    return snapshot.coordinators.values();
  }

  /**
   * The coordinator rows to write, changed ones before new ones: the database checks its unique
   * index of undecided requests row by row, so a decided transaction must leave PREPARING before a
   * retry of its request starts another.
   */
  public List<CoordinatorRow> coordinatorWrites() {
    List<CoordinatorRow> out = new ArrayList<>();
    snapshot.coordinators.values().forEach(r -> {
      if (r.dirty() && !r.inserted) {
        out.add(r);
      }
    });
    snapshot.coordinators.values().forEach(r -> {
      if (r.inserted) {
        out.add(r);
      }
    });
    return out;
  }

  public Iterable<ParticipantRow> participants() {
    return snapshot.participants.values();
  }

  /** True when the batch has anything to write. */
  boolean changed() {
    return !entries.isEmpty() || !recorded.isEmpty()
        || snapshot.coordinators.values().stream().anyMatch(CoordinatorRow::dirty)
        || snapshot.participants.values().stream().anyMatch(ParticipantRow::dirty);
  }

  // The state the two-phase commit steps read and change.

  public long nowMicros() {
    return nowMicros;
  }

  /** The account, or null if it does not exist. */
  public AccountRow account(String tenantId, String accountId) {
    return snapshot.accountsByKey.get(AccountRow.key(tenantId, accountId));
  }

  public HoldRow hold(String holdId) {
    return snapshot.holds.get(holdId);
  }

  /** A new hold on {@code account} that only the transaction's decision resolves (no timer). */
  public HoldRow holdForTransaction(String txid, AccountRow account, long amount, String requestId) {
    HoldRow h = new HoldRow(txid, account, amount, 0, HoldState.HOLD_STATE_ACTIVE, null, requestId, nowMicros, null,
        txid, true);
    checkState(snapshot.holds.putIfAbsent(txid, h) == null, "transaction %s already has a hold", txid);
    return h;
  }

  public CoordinatorRow coordinator(String txid) {
    return snapshot.coordinators.get(txid);
  }

  public void add(CoordinatorRow row) {
    checkState(!snapshot.coordinators.containsKey(row.txid), "transaction %s begun twice", row.txid);
    snapshot.add(row);
  }

  public ParticipantRow participant(String txid) {
    return snapshot.participants.get(txid);
  }

  public void add(ParticipantRow row) {
    checkState(!snapshot.participants.containsKey(row.txid), "leg %s recorded twice", row.txid);
    snapshot.add(row);
  }

  /** Records a mutation's response under its request_id, scoped to the account it acts on. */
  public void record(String tenantId, String accountId, String requestId, OpKind kind, byte[] fingerprint,
      Message response) {
    IdempotencyRecord record = new IdempotencyRecord(tenantId, accountId, requestId, kind.recordedAs().code(),
        fingerprint, response.toByteArray(), nowMicros);
    String key = AccountRow.requestKey(tenantId, accountId, requestId);
    checkState(!snapshot.idempotency.containsKey(key), "request_id %s of account %s recorded twice", requestId,
        accountId);
    snapshot.idempotency.put(key, record);
    recorded.add(record);
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

  /**
   * Applies one operation. A client mutation is first matched against its request_id's scope: a
   * recorded one replays (same body) or is REQUEST_ID_REUSED; one still used by an undecided
   * cross-node transfer is TRANSFER_IN_PROGRESS (same body) or REQUEST_ID_REUSED.
   */
  Outcome apply(Op op) {
    if (op.kind().twoPhase() && op.kind() != OpKind.TX_BEGIN) {
      return Steps.apply(this, op);
    }
    byte[] fingerprint = fingerprints.of(op);
    String scope = scope(op);
    if (scope != null) {
      String key = AccountRow.requestKey(op.tenantId(), scope, op.requestId());
      IdempotencyRecord prior = snapshot.idempotency.get(key);
      if (prior != null) {
        return prior.kind() == op.kind().recordedAs().code() && Arrays.equals(prior.requestHash(), fingerprint)
            ? Outcome.ok(parse(op.kind().recordedAs(), prior.response()))
            : Outcome.failed(Rejection.requestIdReused(op.requestId()));
      }
      CoordinatorRow running = snapshot.undecided.get(key);
      if (running != null && running.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
        return Arrays.equals(running.requestHash, fingerprint)
            ? Outcome.failed(Rejection.of(ErrorReason.TRANSFER_IN_PROGRESS, "transfer " + running.txid
                + " with this request_id is still being decided; retry with the same request_id", "txid",
                running.txid))
            : Outcome.failed(Rejection.requestIdReused(op.requestId()));
      }
    }
    Outcome outcome = switch (op.kind()) {
      case CREATE_ACCOUNT -> createAccount(op, (CreateAccountRequest) op.request());
      case DEPOSIT -> deposit(op, (DepositRequest) op.request());
      case CONSUME -> consume(op, (ConsumeRequest) op.request());
      case TRANSFER -> transfer(op, (TransferRequest) op.request());
      case CREATE_HOLD -> createHold(op, (CreateHoldRequest) op.request());
      case CAPTURE_HOLD -> captureHold(op, (CaptureHoldRequest) op.request());
      case RELEASE_HOLD -> releaseHold(op, (ReleaseHoldRequest) op.request());
      case TX_BEGIN -> Steps.begin(this, op, fingerprint);
      default -> throw new IllegalStateException("not a client operation: " + op.kind());
    };
    if (outcome instanceof Outcome.Ok ok && !op.kind().twoPhase()) {
      record(op.tenantId(), scope, op.requestId(), op.kind(), fingerprint, ok.response());
    }
    return outcome;
  }

  /**
   * The account a mutation's request_id is scoped to: its first account (a transfer's debited
   * one), or the account of the hold it names; null for a hold that is not there (or is another
   * tenant's), which the operation then refuses without recording anything.
   */
  private String scope(Op op) {
    if (op.holdId() == null) {
      return op.accountIds().get(0);
    }
    HoldRow h = snapshot.holds.get(op.holdId());
    return h == null || !h.account.tenantId.equals(op.tenantId()) ? null : h.account.accountId;
  }

  private Outcome createAccount(Op op, CreateAccountRequest r) {
    if (account(r.getTenantId(), r.getAccountId()) != null) {
      return Outcome.failed(Rejection.of(ErrorReason.ACCOUNT_ALREADY_EXISTS,
          "account " + r.getAccountId() + " already exists", "account_id", r.getAccountId()));
    }
    AccountRow a = snapshot.add(new AccountRow(++accountId, r.getTenantId(), r.getAccountId(), 0, 0, 0,
        nowMicros, true));
    append(a, EntryKind.ENTRY_KIND_ACCOUNT_CREATED, 0, 0, 0, op.requestId(), null, null, "");
    return Outcome.ok(CreateAccountResponse.newBuilder().setAccount(a.toProto()).build());
  }

  private Outcome deposit(Op op, DepositRequest r) {
    AccountRow a = account(r.getTenantId(), r.getAccountId());
    if (a == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getAccountId()));
    }
    if (a.balance > Long.MAX_VALUE - r.getAmount()) {
      return Outcome.failed(Rejection.balanceOverflow(r.getAccountId()));
    }
    long seq = append(a, EntryKind.ENTRY_KIND_DEPOSIT, r.getAmount(), a.balance + r.getAmount(), a.held,
        op.requestId(), null, null, r.getMemo());
    DepositResponse.Builder response = DepositResponse.newBuilder().setEntrySequence(seq);
    if (r.hasCard()) {
      CardVault.Sealed sealed = vault.seal(r.getCard(), new CardVault.Entry(a.tenantId, a.accountId, seq));
      cards.add(new CardRow(seq, sealed));
      response.setCard(sealed.summary());
    }
    return Outcome.ok(response.setAccount(a.toProto()).build());
  }

  private Outcome consume(Op op, ConsumeRequest r) {
    AccountRow a = account(r.getTenantId(), r.getAccountId());
    if (a == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getAccountId()));
    }
    if (a.available() < r.getAmount()) {
      return Outcome.failed(Rejection.insufficientFunds(a.accountId, a.available(), r.getAmount()));
    }
    long seq = append(a, EntryKind.ENTRY_KIND_CONSUME, r.getAmount(), a.balance - r.getAmount(), a.held,
        op.requestId(), null, null, r.getMemo());
    return Outcome.ok(ConsumeResponse.newBuilder().setAccount(a.toProto()).setEntrySequence(seq).build());
  }

  /**
   * A transfer on one node. To another tenant's account the sender's own checks come first and
   * any problem with the credited account is one answer (DESTINATION_UNAVAILABLE), as on the
   * cross-node path, so the outcome never tells whether that account exists.
   */
  private Outcome transfer(Op op, TransferRequest r) {
    AccountRow from = account(r.getTenantId(), r.getFromAccountId());
    if (from == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getFromAccountId()));
    }
    boolean crossTenant = !Op.creditTenant(r).equals(r.getTenantId());
    AccountRow to = account(Op.creditTenant(r), r.getToAccountId());
    if (to == null && !crossTenant) {
      return Outcome.failed(Rejection.accountNotFound(r.getToAccountId()));
    }
    if (from.available() < r.getAmount()) {
      return Outcome.failed(Rejection.insufficientFunds(from.accountId, from.available(), r.getAmount()));
    }
    if (to == null || to.balance > Long.MAX_VALUE - r.getAmount()) {
      return Outcome.failed(crossTenant ? Rejection.destinationUnavailable()
          : Rejection.balanceOverflow(r.getToAccountId()));
    }
    String transferId = "tr-" + uuids.get();
    append(from, EntryKind.ENTRY_KIND_TRANSFER_DEBIT, r.getAmount(), from.balance - r.getAmount(), from.held,
        op.requestId(), null, transferId, r.getMemo());
    append(to, EntryKind.ENTRY_KIND_TRANSFER_CREDIT, r.getAmount(), to.balance + r.getAmount(), to.held,
        op.requestId(), null, transferId, r.getMemo());
    return Outcome.ok(TransferResponse.newBuilder()
        .setTransferId(transferId)
        .setFromAccount(from.toProto())
        .setToAccount(Accounts.seenBy(r.getTenantId(), to.toProto()))
        .build());
  }

  private Outcome createHold(Op op, CreateHoldRequest r) {
    AccountRow a = account(r.getTenantId(), r.getAccountId());
    if (a == null) {
      return Outcome.failed(Rejection.accountNotFound(r.getAccountId()));
    }
    if (a.available() < r.getAmount()) {
      return Outcome.failed(Rejection.insufficientFunds(a.accountId, a.available(), r.getAmount()));
    }
    String holdId = HoldIds.create(Ring.keyHash(a.tenantId, a.accountId), uuids.get());
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
      return Outcome.failed(Rejection.of(ErrorReason.CAPTURE_EXCEEDS_HOLD,
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
    if (unusable != null && unusable.reason() != ErrorReason.HOLD_EXPIRED) {
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
      return Rejection.of(ErrorReason.HOLD_NOT_FOUND, "hold " + holdId + " does not exist", "hold_id", holdId);
    }
    if (h.state != HoldState.HOLD_STATE_ACTIVE) {
      return new Rejection(ErrorReason.HOLD_NOT_ACTIVE, "hold " + holdId + " is already " + h.state,
          Map.of("hold_id", holdId, "state", h.state.name()));
    }
    if (h.expireMicros != null && h.expireMicros <= nowMicros) {
      return Rejection.of(ErrorReason.HOLD_EXPIRED, "hold " + holdId + " has expired", "hold_id", holdId);
    }
    return null;
  }

  /**
   * Appends a journal entry for an account and sets the account's balances to the entry's:
   * the only way a balance changes. Returns the entry's sequence.
   */
  public long append(AccountRow a, EntryKind kind, long amount, long balanceAfter, long heldAfter,
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

  private static Message parse(OpKind kind, byte[] response) {
    try {
      return kind.responseParser().parseFrom(response);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored " + kind + " response cannot be parsed", e);
    }
  }
}
