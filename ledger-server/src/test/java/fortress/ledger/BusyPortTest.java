package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.store.TestPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A node whose configured port another process holds (a running local cluster, say) exits at once
 * with one line naming the port and the flag that moves it: no stack trace.
 */
class BusyPortTest {
  @Test
  void aTakenGrpcPort_endsTheNodeWithOneLineNamingItsFlag() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Result r = run("--grpc-port=" + taken.getLocalPort(), "--metrics-port=0");
      assertThat(r.status()).as(r.output()).isEqualTo(2);
      assertThat(r.lines()).containsExactly("ledger: port " + taken.getLocalPort() + " on 127.0.0.1 (--grpc-port) "
          + "is in use; stop what holds it, or move this server with --grpc-port=<another port> (0 picks a free one)");
      assertThat(r.output()).doesNotContain("Exception", "\tat ");
    }
  }

  @Test
  void aTakenMetricsPort_endsTheNodeWithOneLineNamingItsFlag() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Result r = run("--grpc-port=0", "--metrics-port=" + taken.getLocalPort());
      assertThat(r.status()).as(r.output()).isEqualTo(2);
      assertThat(r.lines()).singleElement().asString().startsWith("ledger: port " + taken.getLocalPort()
          + " on 127.0.0.1 (--metrics-port) is in use");
      assertThat(r.output()).doesNotContain("Exception", "\tat ");
    }
  }

  @Test
  void anAddressThatCannotBeBound_isSaidAsTheSystemSaysIt_notCalledInUse() throws Exception {
    Result r = run("--host=203.0.113.1", "--grpc-port=50999", "--metrics-port=0");
    assertThat(r.status()).as(r.output()).isEqualTo(2);
    assertThat(r.lines()).singleElement().asString()
        .startsWith("ledger: cannot listen on 203.0.113.1:50999 (--grpc-port): ").doesNotContain("in use");
    assertThat(r.output()).doesNotContain("Exception", "\tat ");
  }

  private record Result(int status, String output) {
    /** What the process printed other than its log lines (which start with a time). */
    List<String> lines() {
      return output.lines().filter(l -> !l.isBlank() && !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d+ .*")).toList();
    }
  }

  /** Runs the node's main in its own process; its stderr only (its log goes to stdout). */
  private static Result run(String... flags) throws IOException, InterruptedException {
    String key = Base64.getEncoder().encodeToString(TestNode.randomKey());
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-cp", System.getProperty("java.class.path"), "fortress.ledger.Main",
        "--jdbc-url=" + TestPostgres.newDatabase(), "--node-id=ledger-1"));
    command.addAll(List.of(flags));
    ProcessBuilder b = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    b.environment().putAll(Map.of("FORTRESS_JOURNAL_KEY", key, "FORTRESS_CARD_KEY", key));
    Process p = b.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the node exits").isTrue();
    return new Result(p.exitValue(), err);
  }
}
