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
import fortress.core.security.Tokens;
import java.time.Duration;
import java.util.List;

class LedgerTourTest {
  @Test
  void theTour_runsAgainstAClusterOverTcp_withATenantToken_andEndsConserved() throws Exception {
    byte[] key = new byte[32];
    new java.security.SecureRandom().nextBytes(key);
    String keyFlag = "--auth-hs256-key=" + java.util.Base64.getEncoder().encodeToString(key);
    try (TestCluster cluster = new TestCluster(3);
        ProxyServer proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
            keyFlag}, Map.of()), NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
            cluster::connect)) {
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      String token = Tokens.hs256(key, "tour", "acme", List.of("admin"), List.of(Tokens.Policy.LEDGER.audience()),
          Duration.ofMinutes(5));

      GetClusterTotalsResponse totals = LedgerTour.run("127.0.0.1:" + proxy.port(), "acme", token,
          new PrintStream(printed, true, StandardCharsets.UTF_8));

      String out = printed.toString(StandardCharsets.UTF_8);
      assertThat(out).containsPattern("deposit 1000 to alice-\\w+: balance 1000")
          .containsPattern("alice-\\w+ balance 750")
          .containsPattern("bob-[\\w-]+ balance 250")
          .contains("refused: INSUFFICIENT_FUNDS")
          .containsPattern("capture 60 of it: alice-\\w+ balance 690, held 0")
          .contains("conserved true");
      assertThat(totals.getConserved()).isTrue();
      assertThat(totals.getDeposited()).isEqualTo(1000);
      assertThat(totals.getConsumed()).isEqualTo(60);
    }
  }
}
