package fortress.example;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.ledger.TestCluster;
import fortress.proxy.ProxyConfig;
import fortress.proxy.ProxyServer;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LedgerTourTest {
  @Test
  void theTour_runsAgainstAClusterOverTcp_andEndsConserved() throws Exception {
    try (TestCluster cluster = new TestCluster(3);
        ProxyServer proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile()},
            Map.of()), NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), cluster::connect)) {
      ByteArrayOutputStream printed = new ByteArrayOutputStream();

      GetClusterTotalsResponse totals = LedgerTour.run("127.0.0.1:" + proxy.port(),
          new PrintStream(printed, true, StandardCharsets.UTF_8));

      String out = printed.toString(StandardCharsets.UTF_8);
      assertThat(out).contains("deposit 1000 to alice: balance 1000")
          .contains("alice balance 750")
          .containsPattern("\\w+ balance 250")
          .contains("refused: INSUFFICIENT_FUNDS")
          .contains("capture 60 of it: alice balance 690, held 0")
          .contains("conserved true");
      assertThat(totals.getConserved()).isTrue();
      assertThat(totals.getDeposited()).isEqualTo(1000);
      assertThat(totals.getConsumed()).isEqualTo(60);
    }
  }
}
