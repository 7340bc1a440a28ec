package fortress.client;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.rpc.ErrorInfo;
import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.Placement;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.ListEntriesResponse;
import fortress.ledger.v1.Operation;
import fortress.ledger.v1.OperationError;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The Java client for a Fortress ledger, through the shard proxy or a single node.
 *
 * <ul>
 *   <li>Every mutation gets a fresh {@code request_id} (a UUID) unless the request already has one,
 *       and the client's tenant unless the request names one.
 *   <li>A mutation that fails with UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED is tried
 *       again. When the error certainly changed nothing (its reason's effect is EFFECT_NONE, such
 *       as WRITER_QUEUE_FULL or STORAGE_UNAVAILABLE), the same request is sent again. When it may
 *       have taken effect (EFFECT_UNKNOWN: NODE_UNAVAILABLE, OUTCOME_UNKNOWN, a lost connection, a
 *       passed deadline), the client first asks GetOperation: if the mutation was recorded, that
 *       response is returned; if not, it is sent again with the same {@code request_id}, which the
 *       ledger applies at most once. When the retries run out after an uncertain error the client
 *       throws {@link OutcomeUnknownException} naming the request_id.
 *   <li>Reads retry the same three codes.
 *   <li>Every attempt has a deadline ({@link Builder#callTimeout}), and all attempts of one call
 *       together have another ({@link Builder#retryTimeout}).
 *   <li>Any other failure throws at once, as a {@link FortressException} subclass that carries the
 *       ErrorInfo reason, e.g. {@link FailedPreconditionException} for which {@code
 *       e.is(ErrorReason.INSUFFICIENT_FUNDS)} holds. Every reason is declared in the contract, as
 *       the enums {@code fortress.ledger.v1.ErrorReason} and {@code fortress.auth.v1.ErrorReason}.
 * </ul>
 *
 * <p>A request_id you supply must identify one request: a different request under the same id is
 * refused with {@link ErrorReason#REQUEST_ID_REUSED}. Calls block; the client is thread-safe and meant
 * to be shared. The generated stubs remain available through {@link #ledgerStub()} and {@link
 * #clusterStub()}.
 */
public final class FortressClient implements AutoCloseable {
  private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

  private final ManagedChannel owned;
  private final String tenant;
  private final Duration callTimeout;
  private final Duration retryTimeout;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final LedgerServiceGrpc.LedgerServiceBlockingStub ledger;
  private final ClusterServiceGrpc.ClusterServiceBlockingStub cluster;

  private FortressClient(Builder b) {
    this.owned = b.channel == null ? open(b) : null;
    Channel channel = owned != null ? owned : b.channel;
    if (b.bearerToken != null) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + b.bearerToken);
      channel = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.tenant = b.tenant;
    this.callTimeout = b.callTimeout;
    this.retryTimeout = b.retryTimeout;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.ledger = LedgerServiceGrpc.newBlockingStub(channel);
    this.cluster = ClusterServiceGrpc.newBlockingStub(channel);
  }

  private static ManagedChannel open(Builder b) {
    if (b.caFile == null) {
      return ManagedChannelBuilder.forTarget(b.target).usePlaintext().userAgent("fortress-java").build();
    }
    try {
      SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(b.caFile.toFile());
      if (b.certFile != null) {
        ssl.keyManager(b.certFile.toFile(), b.keyFile.toFile());
      }
      return NettyChannelBuilder.forTarget(b.target).sslContext(ssl.build()).userAgent("fortress-java").build();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot set up TLS from " + b.caFile + ": " + e.getMessage(), e);
    }
  }

  /**
   * A client that opens its own channel to {@code target}, e.g. {@code 127.0.0.1:50051}: plaintext,
   * or TLS with {@link Builder#tls}.
   */
  public static Builder forTarget(String target) {
    if (target == null || target.isBlank()) {
      throw new IllegalArgumentException("target is required, e.g. 127.0.0.1:50051");
    }
    return new Builder(target, null);
  }

  /** A client over a channel the caller built (TLS, interceptors) and closes. */
  public static Builder forChannel(Channel channel) {
    if (channel == null) {
      throw new IllegalArgumentException("channel is required");
    }
    return new Builder(null, channel);
  }

  /** The tenant this client acts for. */
  public String tenant() {
    return tenant;
  }

  // Accounts.

  /** Opens an account with a zero balance. */
  public Account createAccount(String accountId) {
    return createAccount(CreateAccountRequest.newBuilder().setAccountId(accountId).build());
  }

  public Account createAccount(CreateAccountRequest request) {
    CreateAccountRequest r = fill(request);
    return mutate(r, s -> s.createAccount(r), Operation.ResponseCase.CREATE_ACCOUNT,
        Operation::getCreateAccount).getAccount();
  }

  /** The account's balance, held and available amounts now. */
  public Account getAccount(String accountId) {
    return getAccount(GetAccountRequest.newBuilder().setAccountId(accountId).build());
  }

  public Account getAccount(GetAccountRequest request) {
    GetAccountRequest r = fill(request);
    return read(ledger, s -> s.getAccount(r)).getAccount();
  }

  /** One page of an account's journal entries, oldest first; pass {@code next_page_token} for the next. */
  public ListEntriesResponse listEntries(ListEntriesRequest request) {
    ListEntriesRequest r = fill(request);
    return read(ledger, s -> s.listEntries(r));
  }

  // Money movement.

  public DepositResponse deposit(String accountId, long amount) {
    return deposit(DepositRequest.newBuilder().setAccountId(accountId).setAmount(amount).build());
  }

  public DepositResponse deposit(DepositRequest request) {
    DepositRequest r = fill(request);
    return mutate(r, s -> s.deposit(r), Operation.ResponseCase.DEPOSIT, Operation::getDeposit);
  }

  public ConsumeResponse consume(String accountId, long amount) {
    return consume(ConsumeRequest.newBuilder().setAccountId(accountId).setAmount(amount).build());
  }

  public ConsumeResponse consume(ConsumeRequest request) {
    ConsumeRequest r = fill(request);
    return mutate(r, s -> s.consume(r), Operation.ResponseCase.CONSUME, Operation::getConsume);
  }

  /** Moves credits; across nodes the transfer is atomic (two-phase commit behind the proxy). */
  public TransferResponse transfer(String fromAccountId, String toAccountId, long amount) {
    return transfer(TransferRequest.newBuilder().setFromAccountId(fromAccountId).setToAccountId(toAccountId)
        .setAmount(amount).build());
  }

  public TransferResponse transfer(TransferRequest request) {
    TransferRequest r = fill(request);
    return mutate(r, s -> s.transfer(r), Operation.ResponseCase.TRANSFER, Operation::getTransfer);
  }

  // Holds.

  /** Reserves credits for {@code timeout} (whole seconds); an expired hold is released. */
  public CreateHoldResponse createHold(String accountId, long amount, Duration timeout) {
    return createHold(CreateHoldRequest.newBuilder().setAccountId(accountId).setAmount(amount)
        .setTimeoutSeconds(timeout.toSeconds()).build());
  }

  public CreateHoldResponse createHold(CreateHoldRequest request) {
    CreateHoldRequest r = fill(request);
    return mutate(r, s -> s.createHold(r), Operation.ResponseCase.CREATE_HOLD,
        Operation::getCreateHold);
  }

  /** Captures the whole hold. */
  public CaptureHoldResponse captureHold(String holdId) {
    return captureHold(CaptureHoldRequest.newBuilder().setHoldId(holdId).build());
  }

  /** Captures part of a hold; the remainder is released. */
  public CaptureHoldResponse captureHold(String holdId, long amount) {
    return captureHold(CaptureHoldRequest.newBuilder().setHoldId(holdId).setAmount(amount).build());
  }

  public CaptureHoldResponse captureHold(CaptureHoldRequest request) {
    CaptureHoldRequest r = fill(request);
    return mutate(r, s -> s.captureHold(r), Operation.ResponseCase.CAPTURE_HOLD,
        Operation::getCaptureHold);
  }

  public ReleaseHoldResponse releaseHold(String holdId) {
    return releaseHold(ReleaseHoldRequest.newBuilder().setHoldId(holdId).build());
  }

  public ReleaseHoldResponse releaseHold(ReleaseHoldRequest request) {
    ReleaseHoldRequest r = fill(request);
    return mutate(r, s -> s.releaseHold(r), Operation.ResponseCase.RELEASE_HOLD,
        Operation::getReleaseHold);
  }

  // Outcomes.

  /**
   * The recorded outcome of a mutation, or empty when it has not taken effect (so repeating it with
   * the same request_id is safe). A request_id belongs to the account its mutation acted on: the
   * account of CreateAccount, Deposit, Consume and CreateHold, the debited account of a Transfer.
   */
  public Optional<Operation> getOperation(String accountId, String requestId) {
    GetOperationRequest r = fill(GetOperationRequest.newBuilder().setAccountId(accountId).setRequestId(requestId)
        .build());
    return read(ledger, s -> lookup(s, r));
  }

  /** The same for a CaptureHold or ReleaseHold, whose request_id belongs to the hold's account. */
  public Optional<Operation> getHoldOperation(String holdId, String requestId) {
    GetOperationRequest r = fill(GetOperationRequest.newBuilder().setHoldId(holdId).setRequestId(requestId).build());
    return read(ledger, s -> lookup(s, r));
  }

  /**
   * Many mutations in one call, one result per operation in order. Each operation gets a
   * request_id and the tenant if it lacks them. Operations that may succeed on another attempt
   * (the whole call failed, or the result is UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED)
   * are sent again with the same ids, which is safe whether or not they took effect. An operation
   * that an uncertain error left open and no later attempt settled (the retries ran out, or a
   * later attempt was refused) has an UNAVAILABLE {@link OperationError}, reason OUTCOME_UNKNOWN;
   * one only ever refused with certainty keeps its last refusal.
   */
  public SubmitBatchResponse submitBatch(List<BatchOperation> operations) {
    List<BatchOperation> ops = operations.stream().map(this::fill).toList();
    BatchResult[] results = new BatchResult[ops.size()];
    boolean[] uncertain = new boolean[ops.size()];
    List<Integer> pending = new ArrayList<>();
    for (int i = 0; i < ops.size(); i++) {
      pending.add(i);
    }
    Attempts attempts = new Attempts();
    while (!pending.isEmpty()) {
      SubmitBatchRequest.Builder request = SubmitBatchRequest.newBuilder();
      pending.forEach(i -> request.addOperations(ops.get(i)));
      List<Integer> again = new ArrayList<>();
      try {
        List<BatchResult> got = attempts.stub(ledger).submitBatch(request.build()).getResultsList();
        for (int k = 0; k < pending.size(); k++) {
          int i = pending.get(k);
          BatchResult result = got.get(k);
          if (isRetryable(result)) {
            uncertain[i] |= effect(result.getError()) == Effect.EFFECT_UNKNOWN;
            again.add(i);
          }
          // After an uncertain attempt a refusal of a later one does not settle it: the earlier
          // attempt may still land.
          results[i] = result.hasError() && uncertain[i] && !again.contains(i) && !settles(result.getError())
              ? outcomeUnknown(result.getError().getReason() + ": " + result.getError().getMessage()) : result;
        }
      } catch (StatusRuntimeException e) {
        FortressException f = FortressException.from(e, "");
        boolean retryable = f instanceof UnavailableException;
        if (!retryable && pending.size() == ops.size() && Arrays.stream(results).allMatch(r -> r == null)) {
          throw f; // the first round, refused as a whole: nothing was applied
        }
        for (int i : pending) {
          uncertain[i] |= f.effect() == Effect.EFFECT_UNKNOWN;
          results[i] = uncertain[i] ? outcomeUnknown(f.reason() + ": " + f.getMessage()) : BatchResult.newBuilder()
              .setError(OperationError.newBuilder().setCode(f.code().value()).setReason(f.reason())
                  .setMessage(f.getMessage()).putAllMetadata(f.metadata()))
              .build();
        }
        if (retryable) {
          again.addAll(pending);
        }
      }
      pending = again;
      if (!pending.isEmpty() && !attempts.backOff()) {
        for (int i : pending) {
          OperationError last = results[i].getError();
          if (uncertain[i] && !last.getReason().equals(ErrorReason.OUTCOME_UNKNOWN.name())) {
            results[i] = outcomeUnknown(last.getReason() + ": " + last.getMessage());
          }
        }
        break;
      }
    }
    return SubmitBatchResponse.newBuilder().addAllResults(Arrays.asList(results)).build();
  }

  /** The result of an operation that may have taken effect and that no attempt settled. */
  private static BatchResult outcomeUnknown(String lastError) {
    return BatchResult.newBuilder().setError(OperationError.newBuilder()
        .setCode(Status.Code.UNAVAILABLE.value())
        .setReason(ErrorReason.OUTCOME_UNKNOWN.name())
        .setMessage("outcome unknown: an attempt may have taken effect; resolve it with GetOperation; last error "
            + lastError))
        .build();
  }

  private static Effect effect(OperationError error) {
    return ErrorReasons.effect(Status.fromCodeValue(error.getCode()).getCode(), info(error), ErrorReason.getDescriptor());
  }

  private static boolean settles(OperationError error) {
    return ErrorReasons.settles(Status.fromCodeValue(error.getCode()).getCode(), info(error),
        ErrorReason.getDescriptor());
  }

  /** A batch result's error as the ErrorInfo it stands for (domain ledger.fortress.dev). */
  private static ErrorInfo info(OperationError error) {
    return ErrorInfo.newBuilder().setDomain(ErrorReasons.domain(ErrorReason.getDescriptor()))
        .setReason(error.getReason()).build();
  }

  // Cluster (served by the shard proxy).

  /** The node that owns each account under the current ring, in argument order. */
  public Map<String, String> placements(String... accountIds) {
    GetRingRequest r = GetRingRequest.newBuilder().setTenantId(tenant).addAllAccountIds(Arrays.asList(accountIds))
        .build();
    Map<String, String> owners = new LinkedHashMap<>();
    for (Placement p : read(cluster, s -> s.getRing(r)).getPlacementsList()) {
      owners.put(p.getAccountId(), p.getNodeId());
    }
    return owners;
  }

  /** Cluster-wide sums and whether conservation holds. */
  public GetClusterTotalsResponse clusterTotals() {
    return read(cluster, s -> s.getClusterTotals(GetClusterTotalsRequest.getDefaultInstance()));
  }

  /** The generated LedgerService stub over this client's channel, without deadlines or retries. */
  public LedgerServiceGrpc.LedgerServiceBlockingStub ledgerStub() {
    return ledger;
  }

  /** The generated ClusterService stub over this client's channel, without deadlines or retries. */
  public ClusterServiceGrpc.ClusterServiceBlockingStub clusterStub() {
    return cluster;
  }

  /** Closes the channel this client opened; a channel passed to {@link #forChannel} stays open. */
  @Override
  public void close() {
    if (owned == null) {
      return;
    }
    owned.shutdown();
    try {
      if (!owned.awaitTermination(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        owned.shutdownNow();
      }
    } catch (InterruptedException e) {
      owned.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  // The retry loops.

  private <M extends Message, R> R mutate(M request, Function<LedgerServiceGrpc.LedgerServiceBlockingStub, R> call,
      Operation.ResponseCase kind, Function<Operation, R> recorded) {
    String requestId = text(request, "request_id");
    GetOperationRequest lookup = scope(request).setTenantId(text(request, "tenant_id")).setRequestId(requestId)
        .build();
    Attempts attempts = new Attempts();
    boolean uncertain = false;
    while (true) {
      try {
        if (uncertain) {
          Optional<Operation> op = lookup(attempts.stub(ledger), lookup);
          if (op.isPresent() && op.get().getResponseCase() == kind) {
            return recorded.apply(op.get());
          }
          // Not recorded (or recorded as another kind, which the retry reports as REQUEST_ID_REUSED).
        }
        return call.apply(attempts.stub(ledger));
      } catch (StatusRuntimeException e) {
        FortressException f = FortressException.from(e, requestId);
        boolean unknown = f.effect() == Effect.EFFECT_UNKNOWN;
        if (!(f instanceof UnavailableException) && !unknown) {
          // After an uncertain attempt a refusal of a later one does not settle the outcome (the
          // earlier attempt may still land), except the transfer's recorded abort.
          throw uncertain && !f.settles() ? new OutcomeUnknownException(f) : f;
        }
        // A certain refusal (WRITER_QUEUE_FULL, STORAGE_UNAVAILABLE, ...) is sent again as it is;
        // after an uncertain one (or a call broken with no reason at all), GetOperation is asked first.
        uncertain |= unknown;
        if (!attempts.backOff()) {
          throw uncertain ? new OutcomeUnknownException(f) : f;
        }
      }
    }
  }

  private <S extends AbstractStub<S>, R> R read(S stub, Function<S, R> call) {
    Attempts attempts = new Attempts();
    while (true) {
      try {
        return call.apply(attempts.stub(stub));
      } catch (StatusRuntimeException e) {
        FortressException f = FortressException.from(e, "");
        if (!(f instanceof UnavailableException) || !attempts.backOff()) {
          throw f;
        }
      }
    }
  }

  private static Optional<Operation> lookup(LedgerServiceGrpc.LedgerServiceBlockingStub stub, GetOperationRequest r) {
    try {
      return Optional.of(stub.getOperation(r).getOperation());
    } catch (StatusRuntimeException e) {
      if (FortressException.from(e, r.getRequestId()).is(ErrorReason.OPERATION_NOT_FOUND)) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Whether a batch result is worth sending again with the same ids: UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED. */
  private static boolean isRetryable(BatchResult r) {
    if (!r.hasError()) {
      return false;
    }
    int code = r.getError().getCode();
    return code == Status.Code.UNAVAILABLE.value() || code == Status.Code.DEADLINE_EXCEEDED.value()
        || code == Status.Code.RESOURCE_EXHAUSTED.value();
  }


  /** The operation with its request's tenant and request_id filled in. */
  private BatchOperation fill(BatchOperation op) {
    FieldDescriptor set = op.getDescriptorForType().getOneofs().get(0).getFields().stream()
        .filter(op::hasField).findFirst().orElse(null);
    if (set == null) {
      return op; // The server names the empty operation in its INVALID_ARGUMENT.
    }
    return op.toBuilder().setField(set, fill((Message) op.getField(set))).build();
  }

  /** The request with the client's tenant and a fresh request_id where those fields are empty. */
  @SuppressWarnings("unchecked")
  private <M extends Message> M fill(M request) {
    Message.Builder b = null;
    FieldDescriptor tenantField = request.getDescriptorForType().findFieldByName("tenant_id");
    if (tenantField != null && text(request, "tenant_id").isEmpty()) {
      b = request.toBuilder().setField(tenantField, tenant);
    }
    FieldDescriptor idField = request.getDescriptorForType().findFieldByName("request_id");
    if (idField != null && text(request, "request_id").isEmpty()) {
      b = (b == null ? request.toBuilder() : b).setField(idField, UUID.randomUUID().toString());
    }
    return b == null ? request : (M) b.build();
  }

  /** A lookup in the scope of the mutation's request_id: the hold it names, or the account it acts on. */
  private static GetOperationRequest.Builder scope(Message mutation) {
    GetOperationRequest.Builder b = GetOperationRequest.newBuilder();
    String hold = text(mutation, "hold_id");
    if (!hold.isEmpty()) {
      return b.setHoldId(hold);
    }
    String from = text(mutation, "from_account_id");
    return b.setAccountId(from.isEmpty() ? text(mutation, "account_id") : from);
  }

  private static String text(Message m, String field) {
    FieldDescriptor f = m.getDescriptorForType().findFieldByName(field);
    return f == null ? "" : (String) m.getField(f);
  }

  /** The attempts of one call: a deadline for each, one for all, and jittered exponential backoff. */
  private final class Attempts {
    private final Deadline overall = Deadline.after(retryTimeout.toNanos(), TimeUnit.NANOSECONDS);
    private int made = 1;

    <S extends AbstractStub<S>> S stub(S stub) {
      return stub.withDeadline(Deadline.after(callTimeout.toNanos(), TimeUnit.NANOSECONDS).minimum(overall));
    }

    /** Waits before the next attempt; false when the attempts or the time are used up. */
    boolean backOff() {
      if (made >= maxAttempts || overall.isExpired()) {
        return false;
      }
      long cap = Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() << Math.min(made - 1, 20));
      long pause = Math.min(ThreadLocalRandom.current().nextLong(cap / 2, cap + 1),
          overall.timeRemaining(TimeUnit.NANOSECONDS));
      made++;
      try {
        TimeUnit.NANOSECONDS.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      return !overall.isExpired();
    }
  }

  /** Settings for a {@link FortressClient}; only the tenant is required. */
  public static final class Builder {
    private final String target;
    private final Channel channel;
    private String tenant;
    private Duration callTimeout = Duration.ofSeconds(10);
    private Duration retryTimeout = Duration.ofSeconds(30);
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(50);
    private Duration maxBackoff = Duration.ofSeconds(2);
    private String bearerToken;
    private Path caFile;
    private Path certFile;
    private Path keyFile;

    private Builder(String target, Channel channel) {
      this.target = target;
      this.channel = channel;
    }

    /** The tenant every request acts for, unless the request names one. Required. */
    public Builder tenant(String tenant) {
      this.tenant = tenant;
      return this;
    }

    /**
     * The token sent as {@code authorization: Bearer <token>} on every call: a JWT naming this
     * client's tenant (or with the admin role, for ClusterService). Required when the proxy
     * verifies tokens.
     */
    public Builder bearerToken(String token) {
      if (token == null || token.isBlank()) {
        throw new IllegalArgumentException("bearerToken must not be empty");
      }
      this.bearerToken = token.trim();
      return this;
    }

    /**
     * Opens the channel with TLS, trusting the PEM CA certificates in {@code caFile}; with a
     * certificate and its PKCS#8 key (both PEM) the client also presents them (mTLS). Only for
     * {@link FortressClient#forTarget}.
     */
    public Builder tls(Path caFile, Path certFile, Path keyFile) {
      if (channel != null) {
        throw new IllegalArgumentException("tls applies to forTarget; a channel passed to forChannel brings its own");
      }
      if (caFile == null || (certFile == null) != (keyFile == null)) {
        throw new IllegalArgumentException("tls needs a CA file, and a certificate and key together or neither");
      }
      this.caFile = caFile;
      this.certFile = certFile;
      this.keyFile = keyFile;
      return this;
    }

    /** The deadline of each attempt. Default 10 s. */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = positive(timeout, "callTimeout");
      return this;
    }

    /** The deadline of all attempts of one call together. Default 30 s. */
    public Builder retryTimeout(Duration timeout) {
      this.retryTimeout = positive(timeout, "retryTimeout");
      return this;
    }

    /** Attempts per call, the first included; 1 turns retries off. Default 5. */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1, got " + attempts);
      }
      this.maxAttempts = attempts;
      return this;
    }

    /** The pause before the first retry, doubling up to {@code max}, each with jitter. Default 50 ms, 2 s. */
    public Builder backoff(Duration initial, Duration max) {
      this.initialBackoff = positive(initial, "initial backoff");
      this.maxBackoff = positive(max, "max backoff");
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("max backoff " + max + " is below the initial " + initial);
      }
      return this;
    }

    public FortressClient build() {
      if (tenant == null || tenant.isBlank()) {
        throw new IllegalArgumentException("tenant is required");
      }
      return new FortressClient(this);
    }

    private static Duration positive(Duration d, String name) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, got " + d);
      }
      return d;
    }
  }
}
