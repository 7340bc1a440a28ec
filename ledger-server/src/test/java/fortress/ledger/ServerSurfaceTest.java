package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.rpc.Reflection;
import fortress.core.rpc.TestCalls;
import fortress.ledger.v1.ConsumeRequest;
import io.grpc.StatusRuntimeException;
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

  /** What grpcurl, knowing only what reflection tells it, prints for a refusal's details. */
  @Test
  void aRefusalsDetails_areReadableThroughReflectionAlone() throws Exception {
    try (TestNode node = new TestNode()) {
      node.open("acme", "main", 70);
      StatusRuntimeException overdraft = TestCalls.refused(() -> node.stub().consume(ConsumeRequest.newBuilder()
          .setRequestId(TestNode.id()).setTenantId("acme").setAccountId("main").setAmount(1000).build()));
      assertThat(Reflection.details(node.channel, overdraft)).singleElement().asString()
          .contains("\"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\"", "\"reason\": \"INSUFFICIENT_FUNDS\"",
              "\"domain\": \"ledger.fortress.dev\"", "\"available\": \"70\"");

      StatusRuntimeException invalid = TestCalls.refused(() -> node.stub().consume(ConsumeRequest.newBuilder()
          .setRequestId(TestNode.id()).setTenantId("acme").setAccountId("main").setAmount(-1).build()));
      assertThat(Reflection.details(node.channel, invalid)).hasSize(2).anySatisfy(d -> assertThat(d)
          .contains("google.rpc.BadRequest", "\"field\": \"amount\""));

      for (String type : new String[] {"google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.RetryInfo"}) {
        assertThat(Reflection.messageType(node.channel, type).getFullName()).isEqualTo(type);
      }
    }
  }
}
