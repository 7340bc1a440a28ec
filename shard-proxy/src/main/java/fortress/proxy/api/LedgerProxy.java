package fortress.proxy.api;

import fortress.cluster.v1.RingNode;
import fortress.core.rpc.ErrorStatus;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.GetOperationResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.LedgerServiceGrpc.LedgerServiceStub;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import fortress.proxy.redis.RateLimiter;
import fortress.proxy.route.Errors;
import fortress.proxy.route.Forwarder;
import fortress.proxy.route.Keys;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@code fortress.ledger.v1.LedgerService} for the whole cluster, unchanged. Each call goes to the
 * node owning its account (a transfer to the debited account's node, which coordinates); calls
 * that name no single account ask every node; SubmitBatch is split by node, run in parallel and
 * merged back in order.
 */
public final class LedgerProxy extends LedgerServiceGrpc.LedgerServiceImplBase {
  private static final MethodDescriptor<CreateAccountRequest, byte[]> CREATE_ACCOUNT =
      Passthrough.raw(LedgerServiceGrpc.getCreateAccountMethod());
  private static final MethodDescriptor<GetAccountRequest, byte[]> GET_ACCOUNT =
      Passthrough.raw(LedgerServiceGrpc.getGetAccountMethod());
  private static final MethodDescriptor<DepositRequest, byte[]> DEPOSIT =
      Passthrough.raw(LedgerServiceGrpc.getDepositMethod());
  private static final MethodDescriptor<ConsumeRequest, byte[]> CONSUME =
      Passthrough.raw(LedgerServiceGrpc.getConsumeMethod());
  private static final MethodDescriptor<TransferRequest, byte[]> TRANSFER =
      Passthrough.raw(LedgerServiceGrpc.getTransferMethod());
  private static final MethodDescriptor<CreateHoldRequest, byte[]> CREATE_HOLD =
      Passthrough.raw(LedgerServiceGrpc.getCreateHoldMethod());
  private static final MethodDescriptor<CaptureHoldRequest, byte[]> CAPTURE_HOLD =
      Passthrough.raw(LedgerServiceGrpc.getCaptureHoldMethod());
  private static final MethodDescriptor<ReleaseHoldRequest, byte[]> RELEASE_HOLD =
      Passthrough.raw(LedgerServiceGrpc.getReleaseHoldMethod());
  private static final MethodDescriptor<ListEntriesRequest, byte[]> LIST_ENTRIES =
      Passthrough.raw(LedgerServiceGrpc.getListEntriesMethod());

  private final Forwarder forwarder;
  private final int batchOperationsMax;
  private final RateLimiter limiter;
  private final boolean crossTenantTransfers;

  /**
   * {@code limiter} null means no rate limits; {@code crossTenantTransfers} lets a transfer credit
   * another tenant's account.
   */
  public LedgerProxy(Forwarder forwarder, int batchOperationsMax, RateLimiter limiter, boolean crossTenantTransfers) {
    this.forwarder = forwarder;
    this.batchOperationsMax = batchOperationsMax;
    this.limiter = limiter;
    this.crossTenantTransfers = crossTenantTransfers;
  }

  /** PERMISSION_DENIED / TENANT_FORBIDDEN if the transfer credits another tenant and this proxy forbids that. */
  private StatusRuntimeException crossTenantRefusal(TransferRequest r) {
    if (crossTenantTransfers || r.getToTenantId().isEmpty() || r.getToTenantId().equals(r.getTenantId())) {
      return null;
    }
    return ErrorStatus.of(fortress.auth.v1.ErrorReason.TENANT_FORBIDDEN, "to_tenant_id: transfers to another tenant's accounts are not enabled "
            + "on this cluster", Map.of("field", "to_tenant_id"));
  }

  /**
   * Runs {@code call} if the tenant's bucket has {@code cost} tokens, in the caller's gRPC and
   * trace context (the limiter may answer on another thread); RATE_LIMITED otherwise.
   */
  private <T> CompletableFuture<T> limited(String tenant, long cost, Supplier<CompletableFuture<T>> call) {
    if (limiter == null) {
      return call.get();
    }
    CallerContext caller = CallerContext.current();
    return limiter.acquire(tenant, cost).thenCompose(verdict -> verdict.allowed() ? caller.run(call)
        : CompletableFuture.failedFuture(Errors.rateLimited(tenant, verdict.retryAfterMs())));
  }

  /**
   * The caller's gRPC context (deadline, cancellation) and trace context, to forward a call in
   * from a thread that answered something else first (Redis, on Lettuce's threads).
   */
  private record CallerContext(Context grpc, io.opentelemetry.context.Context trace) {
    static CallerContext current() {
      return new CallerContext(Context.current(), io.opentelemetry.context.Context.current());
    }

    <T> CompletableFuture<T> run(Supplier<CompletableFuture<T>> call) {
      try (Scope scope = trace.makeCurrent()) {
        return grpc.call(call::get);
      } catch (Exception e) {
        return CompletableFuture.failedFuture(e);
      }
    }
  }

  /**
   * Runs {@code call} if every tenant in {@code costs} has its cost in tokens (each bucket is
   * charged in turn; a refusal stops there), RATE_LIMITED otherwise.
   */
  private <T> CompletableFuture<T> limitedAll(Map<String, Long> costs, Supplier<CompletableFuture<T>> call) {
    Supplier<CompletableFuture<T>> chain = call;
    for (Map.Entry<String, Long> e : costs.entrySet()) {
      Supplier<CompletableFuture<T>> next = chain;
      chain = () -> limited(e.getKey(), e.getValue(), next);
    }
    return chain.get();
  }

  /** A call that asks every node costs one token per node. */
  private long fanOutCost() {
    return Math.max(1, forwarder.nodes().ring().current().nodes().size());
  }

  /** The bucket of a call that names no tenant (VerifyJournal): its caller's, by token subject. */
  private static String callerBucket() {
    return "caller:" + fortress.core.security.Caller.current().map(fortress.core.security.Caller::subject)
        .orElse("anonymous");
  }

  /** A batch answered after an earlier attempt of it was uncertain: each refusal in it leaves the outcome open. */
  private static SubmitBatchResponse afterUncertain(SubmitBatchResponse response, StatusRuntimeException earlier) {
    SubmitBatchResponse.Builder b = response.toBuilder();
    for (BatchResult.Builder result : b.getResultsBuilderList()) {
      if (result.hasError()) {
        result.setError(Errors.afterUncertain(result.getError(), earlier));
      }
    }
    return b.build();
  }

  /**
   * The service as served. The calls on one account's owner whose answers the proxy does not read
   * pass on the node's bytes (see {@link Passthrough}); Transfer's answer is read, for
   * {@link Visible}, and passed on as sent unless that changes it. GetOperation, SubmitBatch and
   * VerifyJournal, whose answers the proxy reads or builds, keep their messages.
   */
  public ServerServiceDefinition definition() {
    return Passthrough.bind(bindService(), List.of(
        Passthrough.serve(CREATE_ACCOUNT, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r),
            CREATE_ACCOUNT, r), out)),
        Passthrough.serve(GET_ACCOUNT, (r, out) -> Replies.reply(read(r.getTenantId(), Keys.of(r), GET_ACCOUNT, r),
            out)),
        Passthrough.serve(DEPOSIT, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r), DEPOSIT, r), out)),
        Passthrough.serve(CONSUME, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r), CONSUME, r), out)),
        Passthrough.serve(TRANSFER, this::transferRaw),
        Passthrough.serve(CREATE_HOLD, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r), CREATE_HOLD,
            r), out)),
        Passthrough.serve(CAPTURE_HOLD, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r), CAPTURE_HOLD,
            r), out)),
        Passthrough.serve(RELEASE_HOLD, (r, out) -> Replies.reply(mutation(r.getTenantId(), Keys.of(r), RELEASE_HOLD,
            r), out)),
        Passthrough.serve(LIST_ENTRIES, (r, out) -> Replies.reply(read(r.getTenantId(), Keys.of(r), LIST_ENTRIES, r),
            out))));
  }

  /** A read on one account's owner, limited. */
  private <Q> CompletableFuture<byte[]> read(String tenant, OptionalLong key, MethodDescriptor<Q, byte[]> method,
      Q r) {
    return limited(tenant, 1, () -> forwarder.readOwner(key, method, r));
  }

  /** A mutation on one account's owner, limited. */
  private <Q> CompletableFuture<byte[]> mutation(String tenant, OptionalLong key, MethodDescriptor<Q, byte[]> method,
      Q r) {
    return limited(tenant, 1, () -> forwarder.mutateOwner(key, method, r));
  }

  /** On the debited account's node, which coordinates; the answer as its sender may see it. */
  private void transferRaw(TransferRequest r, StreamObserver<byte[]> out) {
    StatusRuntimeException refused = crossTenantRefusal(r);
    if (refused != null) {
      out.onError(refused);
      return;
    }
    Replies.reply(mutation(r.getTenantId(), Keys.of(r), TRANSFER, r)
        .thenApply(answer -> Visible.transfer(r.getTenantId(), answer)), out);
  }

  /**
   * A request_id is scoped to the account its mutation acted on (or the hold it named), so the
   * operation is recorded on that account's node, the only one asked. A lookup without a scope
   * (a client written before it) asks every node: {@link #anyNode}.
   */
  @Override
  public void getOperation(GetOperationRequest r, StreamObserver<GetOperationResponse> out) {
    if (r.getAccountId().isEmpty() && r.getHoldId().isEmpty()) {
      Replies.reply(limited(r.getTenantId(), fanOutCost(), () -> anyNode(r)).thenApply(x -> Visible.operation(r.getTenantId(), x)),
          out);
      return;
    }
    Replies.reply(limited(r.getTenantId(), 1, () -> forwarder.toOwner(Keys.of(r),
        (LedgerServiceStub stub, StreamObserver<GetOperationResponse> o) -> stub.getOperation(r, o)))
        .thenApply(x -> Visible.operation(r.getTenantId(), x)), out);
  }

  /**
   * Every node's answer for a request_id on any of the tenant's accounts: the operation if exactly
   * one account has it and every node answered; a transfer still being decided says so; on several
   * accounts, or a node's refusal, the error (INVALID_ARGUMENT naming account_id); if a node could
   * not be asked, uncertain (UNAVAILABLE), never NOT_FOUND nor another account's operation.
   */
  private CompletableFuture<GetOperationResponse> anyNode(GetOperationRequest r) {
    return forwarder.<LedgerServiceStub, GetOperationResponse>everyNode(forwarder.nodes()::ledger,
        (stub, o) -> stub.getOperation(r, o)).thenApply(answers -> {
          List<Forwarder.Answer<GetOperationResponse>> found = new ArrayList<>();
          Forwarder.Answer<GetOperationResponse> refused = null;
          Forwarder.Answer<GetOperationResponse> unreachable = null;
          Forwarder.Answer<GetOperationResponse> notFound = null;
          for (Forwarder.Answer<GetOperationResponse> a : answers) {
            ErrorReason reason = a.error() == null ? null : Errors.reason(a.error());
            if (a.error() == null) {
              found.add(a);
            } else if (reason == ErrorReason.TRANSFER_IN_PROGRESS || reason == ErrorReason.INVALID_FIELD) {
              refused = refused == null ? a : refused;
            } else if (reason == ErrorReason.OPERATION_NOT_FOUND) {
              notFound = a;
            } else {
              unreachable = unreachable == null ? a : unreachable;
            }
          }
          if (refused != null) {
            throw Errors.fromNode(refused.error(), refused.node().getNodeId());
          }
          if (found.size() > 1) {
            throw Errors.invalid("account_id", "request_id " + r.getRequestId() + " names operations on several "
                + "accounts; give the account the mutation acted on (or hold_id for a hold's capture or release)");
          }
          if (found.size() == 1 && unreachable == null) {
            return found.get(0).value();
          }
          if (found.size() == 1) {
            // A node not heard from may hold the id too: the answer would not be the only one.
            throw Errors.fromNode(unreachable.error(), unreachable.node().getNodeId());
          }
          Forwarder.Answer<GetOperationResponse> worst = unreachable != null ? unreachable : notFound;
          throw Errors.fromNode(worst.error(), worst.node().getNodeId());
        });
  }

  /** Verifies every node's journal: ok only if all are; the first bad node's findings otherwise. */
  @Override
  public void verifyJournal(VerifyJournalRequest r, StreamObserver<VerifyJournalResponse> out) {
    Replies.reply(limited(callerBucket(), fanOutCost(), () -> forwarder.<LedgerServiceStub, VerifyJournalResponse>
        everyNode(forwarder.nodes()::ledger, (stub, o) -> stub.verifyJournal(r, o))).thenApply(answers -> {
          VerifyJournalResponse.Builder all = VerifyJournalResponse.newBuilder().setOk(true);
          for (Forwarder.Answer<VerifyJournalResponse> a : answers) {
            if (a.error() != null) {
              throw Errors.fromNode(a.error(), a.node().getNodeId());
            }
            VerifyJournalResponse v = a.value();
            all.setEntriesChecked(all.getEntriesChecked() + v.getEntriesChecked())
                .setAccountsChecked(all.getAccountsChecked() + v.getAccountsChecked());
            if (all.getOk() && !v.getOk()) {
              all.setOk(false).setFirstBadSequence(v.getFirstBadSequence())
                  .setProblem("node " + a.node().getNodeId() + ": " + v.getProblem())
                  .setMismatchedAccountId(v.getMismatchedAccountId());
            }
          }
          return all.build();
        }), out);
  }

  @Override
  public void submitBatch(SubmitBatchRequest r, StreamObserver<SubmitBatchResponse> out) {
    int n = r.getOperationsCount();
    if (n == 0 || n > batchOperationsMax) {
      out.onError(Errors.invalid("operations", "must hold from 1 to " + batchOperationsMax + " operations, not " + n));
      return;
    }
    BatchResult[] results = new BatchResult[n];
    List<Integer> all = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      StatusRuntimeException refused = r.getOperations(i).hasTransfer()
          ? crossTenantRefusal(r.getOperations(i).getTransfer()) : null;
      if (refused != null) {
        results[i] = BatchResult.newBuilder().setError(Errors.operationError(refused, "proxy")).build();
      } else {
        all.add(i);
      }
    }
    // Every tenant named in the batch pays for its own operations (with tokens on, the guard has
    // already made them all the caller's tenant).
    Map<String, Long> costs = new java.util.TreeMap<>();
    for (int i = 0; i < n; i++) {
      costs.merge(Keys.tenant(r.getOperations(i)), 1L, Long::sum);
    }
    Replies.reply(limitedAll(costs, () -> sendBatch(r, all, results, true))
        .thenApply(v -> Visible.batch(SubmitBatchResponse.newBuilder().addAllResults(List.of(results)).build(),
            i -> Keys.tenant(r.getOperations(i)))), out);
  }

  /**
   * Sends the operations at these positions, grouped by owning node, in parallel. Operations a
   * node refused as WRONG_NODE (the ring changed) are sent once more under the refreshed ring.
   */
  private CompletableFuture<Void> sendBatch(SubmitBatchRequest r, List<Integer> positions, BatchResult[] results,
      boolean firstRound) {
    Map<RingNode, List<Integer>> byNode = new LinkedHashMap<>();
    for (int i : positions) {
      byNode.computeIfAbsent(forwarder.owner(Keys.of(r.getOperations(i))), k -> new ArrayList<>()).add(i);
    }
    List<CompletableFuture<Void>> parts = new ArrayList<>();
    List<Integer> misrouted = new ArrayList<>();
    byNode.forEach((node, indexes) -> {
      SubmitBatchRequest.Builder part = SubmitBatchRequest.newBuilder();
      for (int i : indexes) {
        part.addOperations(r.getOperations(i));
      }
      SubmitBatchRequest request = part.build();
      parts.add(forwarder.<LedgerServiceStub, SubmitBatchResponse>send(() -> node, forwarder.nodes()::ledger,
          (stub, o) -> stub.submitBatch(request, o), true, LedgerProxy::afterUncertain).handle((response, error) -> {
            synchronized (results) {
              for (int k = 0; k < indexes.size(); k++) {
                BatchResult result = error != null
                    ? BatchResult.newBuilder().setError(Errors.operationError(error, node.getNodeId())).build()
                    : response.getResults(k);
                if (firstRound && result.hasError() && Errors.reason(result.getError()) == ErrorReason.WRONG_NODE) {
                  misrouted.add(indexes.get(k));
                }
                results[indexes.get(k)] = result;
              }
            }
            return null;
          }));
    });
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenCompose(v -> {
      if (misrouted.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      forwarder.nodes().ring().refresh();
      return sendBatch(r, misrouted, results, false);
    });
  }
}
