package fortress.shadow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.core.Ports;
import fortress.shadow.v1.ListRulesRequest;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShadowServerTest {
  @Test
  void aStartThatFailsAfterTheEmbeddedPostgresStarted_stopsIt() throws Exception {
    Path data = Files.createTempDirectory("shadow-failed-start");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      ShadowConfig config = ShadowConfig.parse(new String[] {"--metrics-port=0", "--grpc-port=" + taken.getLocalPort(),
          "--data-dir=" + data}, Map.of());
      assertThatThrownBy(() -> ShadowServer.start(config)).isInstanceOf(Ports.InUse.class)
          .hasMessageContaining("port " + taken.getLocalPort() + " on 127.0.0.1 (--grpc-port) is in use");
    }
    assertThat(data.resolve("pg").resolve("postmaster.pid")).as("PostgreSQL was stopped").doesNotExist();
  }

  @Test
  void theHealthOnlyPort_answersProbesInPlaintext_andServesNothingElse() throws Exception {
    Path data = Files.createTempDirectory("shadow-health-port");
    ShadowConfig config = ShadowConfig.parse(new String[] {"--metrics-port=-1", "--grpc-port=0", "--health-port=0",
        "--data-dir=" + data}, Map.of());
    ManagedChannel probe;
    int healthPort;
    try (ShadowServer server = ShadowServer.start(config)) {
      healthPort = server.healthPort();
      probe = NettyChannelBuilder.forAddress("127.0.0.1", healthPort).usePlaintext().build();
      try {
        assertThat(HealthGrpc.newBlockingStub(probe).check(HealthCheckRequest.getDefaultInstance()).getStatus())
            .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(HealthGrpc.newBlockingStub(probe).check(HealthCheckRequest.newBuilder()
            .setService(ShadowServiceGrpc.SERVICE_NAME).build()).getStatus())
            .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        StatusRuntimeException other = catchThrowableOfType(StatusRuntimeException.class, () -> ShadowServiceGrpc
            .newBlockingStub(probe).listRules(ListRulesRequest.getDefaultInstance()));
        assertThat(other.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
      } finally {
        probe.shutdownNow();
      }
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    boolean closed = false;
    while (!closed && System.nanoTime() < deadline) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", healthPort)) {
        Thread.sleep(50);
      } catch (java.net.ConnectException e) {
        closed = true;
      }
    }
    assertThat(closed).as("the health port closes with the server").isTrue();
  }
}
