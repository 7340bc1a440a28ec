package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The launcher ({@code deploy/local/run}) as a user meets it, in its own process: a start it
 * refuses ends with one line saying what to change, and exit status 2, before anything starts.
 */
class MainTest {
  /** Every port free (picked by the launcher) unless a test fixes one. */
  private static final List<String> FREE_PORTS = List.of("--node-port-base=0", "--proxy-port=0", "--shadow-port=0",
      "--decoy-port=0", "--decoy-http-port=0", "--metrics-port-base=0");
  private Path dataDir;

  private record Exit(int status, List<String> lines) {}

  @BeforeEach
  void folder() throws IOException {
    dataDir = Files.createTempDirectory("fortress-launcher");
  }

  @AfterEach
  void removeFolder() throws IOException {
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void main_proxyPortInUse_saysWhichPortAndFlagInOneLine_andExits2() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();

      Exit exit = launcher("--proxy-port=" + port);

      assertThat(exit.lines()).containsExactly("port " + port + " (proxy gRPC, --proxy-port) is in use; stop what "
          + "holds it, or pass --proxy-port=<another port> (0 picks a free one)");
      assertThat(exit.status()).isEqualTo(2);
    }
    assertThat(dataDir.resolve("pg")).as("nothing was started").doesNotExist();
  }

  @Test
  void main_metricsPortInUse_namesTheMetricsFlag_andExits2() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();

      Exit exit = launcher("--metrics-port-base=" + port);

      assertThat(exit.lines()).containsExactly("port " + port + " (proxy metrics, --metrics-port-base) is in use; "
          + "stop what holds it, or pass --metrics-port-base=<first of 6 free ports> (0 picks free ones)");
      assertThat(exit.status()).isEqualTo(2);
    }
  }

  @Test
  void main_onADataFolderAnotherLauncherRuns_saysSoInOneLine_andExits2() throws Exception {
    try (DataDirLock running = DataDirLock.tryAcquire(dataDir).orElseThrow()) {

      Exit exit = launcher();

      assertThat(exit.lines()).containsExactly("a Fortress local cluster already runs on "
          + dataDir.toAbsolutePath().normalize() + " (launcher pid " + ProcessHandle.current().pid()
          + "); stop it first (Ctrl-C in its terminal) or pass --data-dir=<another folder>");
      assertThat(exit.status()).isEqualTo(2);
    }
  }

  /** Runs the launcher on this test's data folder, free ports and {@code flags}; returns how it ended. */
  private Exit launcher(String... flags) throws IOException, InterruptedException {
    // The java flags of deploy/local/run, which silences logback's own start-up report.
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--data-dir=" + dataDir));
    command.addAll(FREE_PORTS);
    command.addAll(List.of(flags));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().keySet().removeIf(name -> name.startsWith("FORTRESS_"));
    Process p = builder.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("the launcher did not exit within 60 s: " + new String(p.getInputStream()
          .readAllBytes(), StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Exit(p.exitValue(), out.lines().toList());
  }
}
