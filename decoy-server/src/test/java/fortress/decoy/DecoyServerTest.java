package fortress.decoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.core.Ports;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DecoyServerTest {
  @Test
  void aStartThatFailsAfterTheEmbeddedPostgresStarted_stopsIt() throws Exception {
    Path data = Files.createTempDirectory("decoy-failed-start");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      DecoyConfig config = DecoyConfig.parse(new String[] {"--grpc-port=0", "--metrics-port=0", "--http-port=" + taken.getLocalPort(),
          "--data-dir=" + data}, Map.of());
      assertThatThrownBy(() -> DecoyServer.start(config)).isInstanceOf(Ports.InUse.class)
          .hasMessageContaining("port " + taken.getLocalPort() + " on 127.0.0.1 (--http-port) is in use");
    }
    assertThat(data.resolve("pg").resolve("postmaster.pid")).as("PostgreSQL was stopped").doesNotExist();
  }
}
