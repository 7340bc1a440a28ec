package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.Test;

class ServerSurfaceTest {
  @Test
  void healthAndReflection_listLedgerService_andServeUntilClosed() throws Exception {
    TestNode node = new TestNode();
    var health = HealthGrpc.newBlockingStub(node.channel);
    assertThat(health.check(HealthCheckRequest.newBuilder().setService(LedgerServer.SERVICE_NAME).build())
        .getStatus()).isEqualTo(ServingStatus.SERVING);

    assertThat(Reflection.services(node.channel)).contains("fortress.ledger.v1.LedgerService",
        "grpc.health.v1.Health");

    node.server.close();
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> node.account("t", "a")))
        .isInstanceOf(io.grpc.StatusRuntimeException.class);
    node.close();
  }
}
