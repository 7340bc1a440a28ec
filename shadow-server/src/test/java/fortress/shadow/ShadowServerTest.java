package fortress.shadow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.core.Ports;
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
}
