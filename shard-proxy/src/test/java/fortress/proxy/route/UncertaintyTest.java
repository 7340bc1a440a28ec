package fortress.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetAccountResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.OperationError;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.proxy.ProxyConfig;
import fortress.proxy.ProxyServer;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy retries UNAVAILABLE answers, but once an attempt of a mutation may have taken effect,
 * a later certain refusal must not reach the client in its place.
 */
class UncertaintyTest {
  private final List<ErrorReason> answered = new ArrayList<>();
  private Server node;
  private ProxyServer proxy;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    proxy.close();
    node.shutdownNow();
  }

  private static StatusRuntimeException error(ErrorReason reason) {
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(ErrorReasons.code(reason).value()).setMessage("scripted " + reason)
        .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("ledger.fortress.dev").setReason(reason.name())
            .build())).build());
  }

  /** A proxy over one node that answers every call with the next reason of {@code script} (the last repeats). */
  private LedgerServiceGrpc.LedgerServiceBlockingStub proxyOver(ErrorReason... script) throws Exception {
    String nodeName = "node-" + UUID.randomUUID();
    node = InProcessServerBuilder.forName(nodeName).directExecutor().addService(
        new LedgerServiceGrpc.LedgerServiceImplBase() {
          private ErrorReason next() {
            ErrorReason reason = script[Math.min(answered.size(), script.length - 1)];
            answered.add(reason);
            return reason;
          }

          @Override
          public void deposit(DepositRequest r, StreamObserver<DepositResponse> out) {
            out.onError(error(next()));
          }

          @Override
          public void getAccount(GetAccountRequest r, StreamObserver<GetAccountResponse> out) {
            out.onError(error(next()));
          }

          /** An uncertain reason fails the whole call; a certain one answers each operation with it. */
          @Override
          public void submitBatch(SubmitBatchRequest r, StreamObserver<SubmitBatchResponse> out) {
            ErrorReason reason = next();
            if (ErrorReasons.effect(reason) == Effect.EFFECT_UNKNOWN) {
              out.onError(error(reason));
              return;
            }
            SubmitBatchResponse.Builder b = SubmitBatchResponse.newBuilder();
            r.getOperationsList().forEach(op -> b.addResults(BatchResult.newBuilder().setError(OperationError
                .newBuilder().setCode(ErrorReasons.code(reason).value()).setReason(reason.name()))));
            out.onNext(b.build());
            out.onCompleted();
          }
        }).build().start();
    Path ring = Files.createTempFile("ring", ".txtpb");
    Files.writeString(ring, "epoch: 1\nnodes { node_id: \"ledger-1\" address: \"127.0.0.1:1\" }\n");
    String name = "proxy-" + UUID.randomUUID();
    proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + ring, "--retry-backoff-ms=1"},
        Map.of()), InProcessServerBuilder.forName(name),
        n -> InProcessChannelBuilder.forName(nodeName).directExecutor().build());
    channel = InProcessChannelBuilder.forName(name).build();
    return LedgerServiceGrpc.newBlockingStub(channel);
  }

  private static String reason(StatusRuntimeException e) {
    return Errors.info(e).getReason();
  }

  @Test
  void aMutationWhoseFirstAttemptMayHaveLanded_staysUncertain_whenLaterAttemptsAreRefused() throws Exception {
    var ledger = proxyOver(ErrorReason.OUTCOME_UNKNOWN, ErrorReason.STORAGE_UNAVAILABLE);
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> ledger.deposit(
        DepositRequest.newBuilder().setRequestId("d1").setTenantId("t").setAccountId("a").setAmount(5).build()));
    assertThat(answered).as("the proxy retried").hasSizeGreaterThan(1);
    assertThat(reason(e)).as("not the later STORAGE_UNAVAILABLE, which says nothing was written")
        .isEqualTo("OUTCOME_UNKNOWN");
  }

  @Test
  void aBatchWhoseFirstAttemptMayHaveLanded_hasItsLaterRefusalsMarkedUncertain() throws Exception {
    var ledger = proxyOver(ErrorReason.NODE_UNAVAILABLE, ErrorReason.WRITER_QUEUE_FULL);
    SubmitBatchResponse response = ledger.submitBatch(SubmitBatchRequest.newBuilder().addOperations(
        BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setRequestId("d1").setTenantId("t")
            .setAccountId("a").setAmount(5))).build());
    assertThat(answered).containsExactly(ErrorReason.NODE_UNAVAILABLE, ErrorReason.WRITER_QUEUE_FULL);
    assertThat(response.getResults(0).getError().getReason()).as("not WRITER_QUEUE_FULL, which says nothing changed")
        .isEqualTo("OUTCOME_UNKNOWN");
  }

  @Test
  void anAbortAfterAnUncertainAttempt_isTheTransfersRecordedOutcome() throws Exception {
    var ledger = proxyOver(ErrorReason.TRANSFER_IN_PROGRESS, ErrorReason.TRANSFER_ABORTED);
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> ledger.deposit(
        DepositRequest.newBuilder().setRequestId("d1").setTenantId("t").setAccountId("a").setAmount(5).build()));
    assertThat(reason(e)).isEqualTo("TRANSFER_ABORTED");
  }

  @Test
  void aRead_endsWithItsLastAnswer() throws Exception {
    var ledger = proxyOver(ErrorReason.STORAGE_UNAVAILABLE, ErrorReason.ACCOUNT_NOT_FOUND);
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> ledger.getAccount(
        GetAccountRequest.newBuilder().setTenantId("t").setAccountId("a").build()));
    assertThat(reason(e)).isEqualTo("ACCOUNT_NOT_FOUND");
  }
}
