package fortress.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.GetOperationResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.OperationError;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.rpc.v1.Effect;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the client reports when a node's answers are scripted: a certain refusal stays certain, and
 * once an attempt may have taken effect no later answer makes the outcome look settled.
 */
class UncertaintyTest {
  private final List<String> calls = new ArrayList<>();
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  private static StatusRuntimeException error(Status.Code code, String domain, String reason) {
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder().setCode(code.value())
        .setMessage("scripted " + reason).addDetails(Any.pack(ErrorInfo.newBuilder().setDomain(domain)
            .setReason(reason).build())).build());
  }

  private static StatusRuntimeException ledger(ErrorReason reason) {
    return error(fortress.rpc.ErrorReasons.code(reason),
        "ledger.fortress.dev", reason.name());
  }

  /** A client of a node that answers the n-th Deposit, GetOperation and SubmitBatch as scripted. */
  private FortressClient client(Function<Integer, StatusRuntimeException> deposits,
      StatusRuntimeException lookups, Function<Integer, OperationError> batches) throws Exception {
    String name = "scripted-" + UUID.randomUUID();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(
        new LedgerServiceGrpc.LedgerServiceImplBase() {
          @Override
          public void deposit(DepositRequest r, StreamObserver<DepositResponse> out) {
            calls.add("Deposit " + r.getRequestId());
            out.onError(deposits.apply((int) calls.stream().filter(c -> c.startsWith("Deposit")).count()));
          }

          @Override
          public void getOperation(GetOperationRequest r, StreamObserver<GetOperationResponse> out) {
            calls.add("GetOperation " + r.getRequestId());
            out.onError(lookups);
          }

          @Override
          public void submitBatch(SubmitBatchRequest r, StreamObserver<SubmitBatchResponse> out) {
            calls.add("SubmitBatch");
            OperationError e = batches.apply((int) calls.stream().filter(c -> c.equals("SubmitBatch")).count());
            SubmitBatchResponse.Builder b = SubmitBatchResponse.newBuilder();
            r.getOperationsList().forEach(op -> b.addResults(BatchResult.newBuilder().setError(e)));
            out.onNext(b.build());
            out.onCompleted();
          }
        }).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return FortressClient.forChannel(channel).tenant("t").callTimeout(Duration.ofSeconds(2))
        .retryTimeout(Duration.ofSeconds(5)).maxAttempts(3).backoff(Duration.ofMillis(1), Duration.ofMillis(2))
        .build();
  }

  private static OperationError batchError(ErrorReason reason) {
    return OperationError.newBuilder().setCode(fortress.rpc.ErrorReasons.code(reason).value())
        .setReason(reason.name()).setMessage("scripted " + reason).build();
  }

  @Test
  void aMutationOnlyEverRefusedWithCertainty_isSentAgainAsItIs_andEndsCertain() throws Exception {
    FortressClient c = client(n -> ledger(ErrorReason.WRITER_QUEUE_FULL), ledger(ErrorReason.OPERATION_NOT_FOUND),
        n -> batchError(ErrorReason.WRITER_QUEUE_FULL));
    UnavailableException e = catchThrowableOfType(UnavailableException.class, () -> c.deposit("a", 5));
    assertThat(e).isNotInstanceOf(OutcomeUnknownException.class);
    assertThat(e.is(ErrorReason.WRITER_QUEUE_FULL)).isTrue();
    assertThat(e.effect()).isEqualTo(Effect.EFFECT_NONE);
    assertThat(calls).as("no GetOperation after a certain refusal").allMatch(call -> call.startsWith("Deposit"))
        .hasSize(3);

    calls.clear();
    BatchResult r = c.submitBatch(List.of(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
        .setAccountId("a").setAmount(5)).build())).getResults(0);
    assertThat(r.getError().getReason()).as("the batch keeps its certain refusal").isEqualTo("WRITER_QUEUE_FULL");
    assertThat(calls).containsOnly("SubmitBatch").hasSize(3);
  }

  @Test
  void afterAnUncertainAttempt_aLaterRefusal_isStillOutcomeUnknown() throws Exception {
    // The first deposit may have landed (the node lost its database during COMMIT); then the
    // caller's token expires, so the lookup is refused.
    FortressClient c = client(n -> ledger(ErrorReason.OUTCOME_UNKNOWN),
        error(Status.Code.UNAUTHENTICATED, "auth.fortress.dev", "TOKEN_EXPIRED"),
        n -> batchError(n == 1 ? ErrorReason.OUTCOME_UNKNOWN : ErrorReason.INSUFFICIENT_FUNDS));
    OutcomeUnknownException e = catchThrowableOfType(OutcomeUnknownException.class, () -> c.deposit("a", 5));
    assertThat(e).as("a refused lookup settles nothing").isNotNull();
    assertThat(e.effect()).isEqualTo(Effect.EFFECT_UNKNOWN);
    assertThat(e.is(fortress.auth.v1.ErrorReason.TOKEN_EXPIRED)).as("the last error is kept").isTrue();
    assertThat(e.requestId()).isNotEmpty();

    calls.clear();
    BatchResult r = c.submitBatch(List.of(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
        .setAccountId("a").setAmount(5)).build())).getResults(0);
    assertThat(r.getError().getReason()).as("INSUFFICIENT_FUNDS on the second attempt does not settle the first")
        .isEqualTo("OUTCOME_UNKNOWN");
    assertThat(calls).containsExactly("SubmitBatch", "SubmitBatch");
  }
}
