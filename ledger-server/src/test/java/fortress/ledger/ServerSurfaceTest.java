package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServerSurfaceTest {
  @Test
  void healthAndReflection_listLedgerService_andServeUntilClosed() throws Exception {
    TestNode node = new TestNode();
    var health = HealthGrpc.newBlockingStub(node.channel);
    assertThat(health.check(HealthCheckRequest.newBuilder().setService(LedgerServer.SERVICE_NAME).build())
        .getStatus()).isEqualTo(ServingStatus.SERVING);

    CompletableFuture<List<String>> services = new CompletableFuture<>();
    var reflection = ServerReflectionGrpc.newStub(node.channel);
    StreamObserver<ServerReflectionRequest> requests = reflection.serverReflectionInfo(new StreamObserver<>() {
      @Override
      public void onNext(ServerReflectionResponse r) {
        services.complete(r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList());
      }

      @Override
      public void onError(Throwable t) {
        services.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    assertThat(services.get(10, TimeUnit.SECONDS)).contains("fortress.ledger.v1.LedgerService", "grpc.health.v1.Health");
    requests.onCompleted();

    node.server.close();
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> node.account("t", "a")))
        .isInstanceOf(io.grpc.StatusRuntimeException.class);
    node.close();
  }
}
