package fortress.ledger.api;

import static fortress.ledger.api.Replies.read;
import static fortress.ledger.api.Replies.reply;
import static fortress.ledger.api.Replies.send;
import static fortress.ledger.api.Replies.uncertain;

import com.google.protobuf.Message;
import fortress.ledger.Mutations;
import fortress.ledger.Ownership;
import fortress.ledger.Rejection;
import fortress.ledger.api.Replies.Refused;
import fortress.ledger.journal.JournalVerifier;
import fortress.ledger.store.LedgerReader;
import fortress.ledger.store.Lookup;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
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
import fortress.ledger.v1.Entry;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetAccountResponse;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.GetOperationResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.ListEntriesResponse;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import fortress.ledger.write.AccountView;
import fortress.ledger.write.Outcome;
import io.grpc.stub.StreamObserver;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC face of a ledger node. It only translates: requests are checked, mutations go to the
 * writer, reads go to the reader, and every outcome leaves as a response or a status with an
 * ErrorInfo. Nothing escapes as UNKNOWN.
 */
public final class LedgerService extends LedgerServiceGrpc.LedgerServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(LedgerService.class);

  private final Mutations mutations;
  private final Ownership ownership;
  private final LedgerReader reader;
  private final AccountView view;
  private final JournalVerifier verifier;
  private final Checks checks;
  private final Executor responses;
  private final int batchOperationsMax;
  private final int pageSizeDefault;
  private final int pageSizeMax;

  /** {@code view}: the writer's account view, which answers GetAccount when it holds the account. */
  public LedgerService(Mutations mutations, Ownership ownership, LedgerReader reader, AccountView view,
      JournalVerifier verifier, Executor responses, long holdTimeoutSecondsMax, int batchOperationsMax,
      int pageSizeDefault, int pageSizeMax) {
    this.mutations = mutations;
    this.ownership = ownership;
    this.reader = reader;
    this.view = view;
    this.verifier = verifier;
    this.checks = new Checks(holdTimeoutSecondsMax);
    this.responses = responses;
    this.batchOperationsMax = batchOperationsMax;
    this.pageSizeDefault = pageSizeDefault;
    this.pageSizeMax = pageSizeMax;
  }

  @Override
  public void createAccount(CreateAccountRequest r, StreamObserver<CreateAccountResponse> out) {
    mutate(r, out);
  }

  @Override
  public void deposit(DepositRequest r, StreamObserver<DepositResponse> out) {
    mutate(r, out);
  }

  @Override
  public void consume(ConsumeRequest r, StreamObserver<ConsumeResponse> out) {
    mutate(r, out);
  }

  @Override
  public void transfer(TransferRequest r, StreamObserver<TransferResponse> out) {
    mutate(r, out);
  }

  @Override
  public void createHold(CreateHoldRequest r, StreamObserver<CreateHoldResponse> out) {
    mutate(r, out);
  }

  @Override
  public void captureHold(CaptureHoldRequest r, StreamObserver<CaptureHoldResponse> out) {
    mutate(r, out);
  }

  @Override
  public void releaseHold(ReleaseHoldRequest r, StreamObserver<ReleaseHoldResponse> out) {
    mutate(r, out);
  }

  /**
   * The account's committed state from the account view; PostgreSQL answers when the view does
   * not hold it, and every as-of read.
   */
  @Override
  public void getAccount(GetAccountRequest r, StreamObserver<GetAccountResponse> out) {
    Rejection refused = checks.getAccount(r);
    read(out, refused != null ? refused : ownership.refuse(r.getTenantId(), r.getAccountId()), () -> {
      if (!r.hasAsOfSequence()) {
        Account cached = view.account(r.getTenantId(), r.getAccountId());
        return GetAccountResponse.newBuilder()
            .setAccount(cached != null ? cached : found(r.getTenantId(), r.getAccountId()).account())
            .build();
      }
      LedgerReader.Found found = found(r.getTenantId(), r.getAccountId());
      long head = reader.headSequence();
      if (r.getAsOfSequence() > head) {
        throw new Refused(Rejection.invalid("as_of_sequence", "is beyond the journal's last sequence " + head));
      }
      return GetAccountResponse.newBuilder()
          .setAccount(reader.accountAsOf(found, r.getAsOfSequence()).orElseThrow(() -> new Refused(Rejection.of(
              ErrorReason.ACCOUNT_NOT_FOUND, "account " + r.getAccountId() + " did not exist at sequence "
                  + r.getAsOfSequence(), "account_id", r.getAccountId()))))
          .build();
    });
  }

  @Override
  public void listEntries(ListEntriesRequest r, StreamObserver<ListEntriesResponse> out) {
    Rejection invalid = checks.account(r.getTenantId(), r.getAccountId());
    if (invalid == null) {
      invalid = ownership.refuse(r.getTenantId(), r.getAccountId());
    }
    short[] kinds = new short[r.getKindsCount()];
    for (int i = 0; invalid == null && i < kinds.length; i++) {
      int kind = r.getKindsValue(i);
      if (kind < 1 || kind > 9) {
        invalid = Rejection.invalid("kinds", "must hold only known entry kinds, not " + kind);
      }
      kinds[i] = (short) kind;
    }
    if (invalid == null && r.getPageSize() < 0) {
      invalid = Rejection.invalid("page_size", "must not be negative");
    }
    String query = r.getTenantId() + "|" + r.getAccountId() + "|" + r.getKindsValueList();
    long after = r.getPageToken().isEmpty() ? 0 : PageTokens.afterSequence(r.getPageToken(), query);
    if (invalid == null && after < 0) {
      invalid = Rejection.invalid("page_token", "is not a token from a ListEntries call for this account and kinds");
    }
    int pageSize = r.getPageSize() == 0 ? pageSizeDefault : Math.min(r.getPageSize(), pageSizeMax);
    read(out, invalid, () -> {
      List<Entry> entries = reader.entries(found(r.getTenantId(), r.getAccountId()), after, kinds, pageSize + 1);
      ListEntriesResponse.Builder page = ListEntriesResponse.newBuilder();
      if (entries.size() > pageSize) {
        entries = entries.subList(0, pageSize);
        page.setNextPageToken(PageTokens.next(query, entries.get(pageSize - 1).getSequence()));
      }
      return page.addAllEntries(entries).build();
    });
  }

  /**
   * The outcome of a mutation by its request_id, in the scope of its account (or its hold's), from
   * one snapshot: recorded, still being decided (TRANSFER_IN_PROGRESS), or absent (NOT_FOUND, which
   * then means it has not taken effect). Without a scope, on any of the tenant's accounts here.
   */
  @Override
  public void getOperation(GetOperationRequest r, StreamObserver<GetOperationResponse> out) {
    Rejection refused = checks.getOperation(r);
    if (refused == null && !r.getAccountId().isEmpty()) {
      refused = ownership.refuse(r.getTenantId(), r.getAccountId());
    } else if (refused == null && !r.getHoldId().isEmpty()) {
      refused = ownership.refuseHold(r.getHoldId());
    }
    if (refused != null) {
      Replies.fail(out, refused);
      return;
    }
    String account = r.getAccountId().isEmpty() ? null : r.getAccountId();
    String hold = r.getHoldId().isEmpty() ? null : r.getHoldId();
    mutations.operation(r.getTenantId(), account, hold, r.getRequestId()).whenComplete((found, e) -> {
      if (e != null) {
        log.warn("GetOperation read failed: {}", e.toString());
        Replies.fail(out, Rejection.of(ErrorReason.STORAGE_UNAVAILABLE, "the ledger database is unavailable; retry"));
      } else if (found instanceof Lookup.Found f) {
        send(out, GetOperationResponse.newBuilder().setOperation(f.operation()).build());
      } else if (found instanceof Lookup.Ambiguous) {
        Replies.fail(out, Rejection.invalid("account_id", "request_id " + r.getRequestId() + " names operations on "
            + "several accounts; give the account the mutation acted on (or hold_id for a hold's capture or release)"));
      } else if (found instanceof Lookup.InProgress p) {
        Replies.fail(out, Rejection.of(ErrorReason.TRANSFER_IN_PROGRESS, "transfer " + p.txid() + " with request_id "
            + r.getRequestId() + " is still being decided; ask again shortly", "txid", p.txid()));
      } else {
        Replies.fail(out, Rejection.of(ErrorReason.OPERATION_NOT_FOUND, "no operation with request_id "
            + r.getRequestId() + " has taken effect; retrying it with the same request_id is safe", "request_id",
            r.getRequestId()));
      }
    });
  }

  @Override
  public void verifyJournal(VerifyJournalRequest r, StreamObserver<VerifyJournalResponse> out) {
    read(out, null, verifier::verify);
  }

  /** Every valid operation is run in order (see {@link Mutations}); invalid ones are refused in place. */
  @Override
  public void submitBatch(SubmitBatchRequest r, StreamObserver<SubmitBatchResponse> out) {
    int n = r.getOperationsCount();
    if (n == 0 || n > batchOperationsMax) {
      out.onError(Statuses.toException(Rejection.invalid("operations",
          "must hold from 1 to " + batchOperationsMax + " operations, not " + n)));
      return;
    }
    BatchResult[] results = new BatchResult[n];
    List<Message> valid = new ArrayList<>(n);
    int[] positions = new int[n];
    for (int i = 0; i < n; i++) {
      BatchOperation operation = r.getOperations(i);
      Message request = request(operation).orElse(null);
      Rejection invalid = request == null
          ? Rejection.invalid("operations[" + i + "].operation", "must set exactly one operation")
          : checks.batchOperation(i, operation.getOperationCase(), request);
      if (invalid != null) {
        results[i] = BatchResult.newBuilder().setError(Statuses.toOperationError(invalid)).build();
      } else {
        positions[valid.size()] = i;
        valid.add(request);
      }
    }
    mutations.submitAll(valid).whenCompleteAsync((outcomes, error) -> {
      if (error != null) {
        log.error("SubmitBatch failed inside the writer", error);
      }
      SubmitBatchResponse.Builder response = SubmitBatchResponse.newBuilder();
      for (int j = 0; j < valid.size(); j++) {
        results[positions[j]] = result(error != null ? uncertain() : outcomes.get(j));
      }
      for (BatchResult result : results) {
        response.addResults(result);
      }
      send(out, response.build());
    }, responses);
  }

  private <T> void mutate(Message request, StreamObserver<T> out) {
    Rejection invalid = checks.mutation(request, "");
    if (invalid != null) {
      out.onError(Statuses.toException(invalid));
      return;
    }
    mutations.submit(request).whenCompleteAsync((result, error) -> {
      if (error != null) {
        log.error("{} failed inside the writer", request.getDescriptorForType().getName(), error);
      }
      reply(error != null ? uncertain() : result, out);
    }, responses);
  }

  private LedgerReader.Found found(String tenantId, String accountId) throws SQLException, Refused {
    return reader.account(tenantId, accountId).orElseThrow(() -> new Refused(Rejection.of(ErrorReason.ACCOUNT_NOT_FOUND,
        "account " + accountId + " does not exist", "account_id", accountId)));
  }

  private static Optional<Message> request(BatchOperation op) {
    return Optional.ofNullable(switch (op.getOperationCase()) {
      case CREATE_ACCOUNT -> op.getCreateAccount();
      case DEPOSIT -> op.getDeposit();
      case CONSUME -> op.getConsume();
      case TRANSFER -> op.getTransfer();
      case CREATE_HOLD -> op.getCreateHold();
      case CAPTURE_HOLD -> op.getCaptureHold();
      case RELEASE_HOLD -> op.getReleaseHold();
      case OPERATION_NOT_SET -> null;
    });
  }

  private static BatchResult result(Outcome outcome) {
    BatchResult.Builder b = BatchResult.newBuilder();
    if (outcome instanceof Outcome.Failed failed) {
      return b.setError(Statuses.toOperationError(failed.rejection())).build();
    }
    Message m = ((Outcome.Ok) outcome).response();
    if (m instanceof CreateAccountResponse x) {
      b.setCreateAccount(x);
    } else if (m instanceof DepositResponse x) {
      b.setDeposit(x);
    } else if (m instanceof ConsumeResponse x) {
      b.setConsume(x);
    } else if (m instanceof TransferResponse x) {
      b.setTransfer(x);
    } else if (m instanceof CreateHoldResponse x) {
      b.setCreateHold(x);
    } else if (m instanceof CaptureHoldResponse x) {
      b.setCaptureHold(x);
    } else if (m instanceof ReleaseHoldResponse x) {
      b.setReleaseHold(x);
    }
    return b.build();
  }
}
