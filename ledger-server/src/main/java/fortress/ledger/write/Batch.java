package fortress.ledger.write;

import static com.google.common.base.Preconditions.checkState;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
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
    String key = AccountRow.key(op.tenantId(), op.requestId());
    byte[] fingerprint = fingerprints.of(op);
    IdempotencyRecord prior = snapshot.idempotency.get(key);
    if (prior != null) {
      if (prior.kind() == op.kind().code() && Arrays.equals(prior.requestHash(), fingerprint)) {
        return Outcome.ok(parse(op.kind(), prior.response()));
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
    };
    if (outcome instanceof Outcome.Ok ok) {
      IdempotencyRecord record = new IdempotencyRecord(op.tenantId(), op.requestId(), op.kind().code(), fingerprint,
          ok.response().toByteArray(), nowMicros);
      snapshot.idempotency.put(key, record);
      recorded.add(record);
    }
    return outcome;
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
    AccountRow to = snapshot.accountsByKey.get(AccountRow.key(r.getTenantId(), r.getToAccountId()));
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
    String holdId = "hold-" + UUID.randomUUID();
    long expireMicros = nowMicros + r.getTimeoutSeconds() * 1_000_000L;
    append(a, EntryKind.ENTRY_KIND_HOLD_CREATED, r.getAmount(), a.balance, a.held + r.getAmount(),
        op.requestId(), holdId, null, r.getMemo());
    HoldRow hold = new HoldRow(holdId, a, r.getAmount(), 0, HoldState.HOLD_STATE_ACTIVE, expireMicros,
        op.requestId(), nowMicros, null, true);
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
    if (h == null || !h.account.tenantId.equals(tenantId)) {
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
