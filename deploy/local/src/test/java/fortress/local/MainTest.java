package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.store.LocalPostgres;
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

  /**
   * Stopped (SIGTERM, as Ctrl-C through deploy/local/run is) while its servers are still starting,
   * the launcher leaves none of them, and no PostgreSQL, running.
   */
  @Test
  void main_stoppedWhileTheServersStart_leavesNothingRunning() throws Exception {
    Path root = Path.of(System.getProperty("fortress.root", "../..")).toAbsolutePath().normalize();
    Process launcher = launcherProcess("--root=" + root, "--nodes=1");
    Path log = dataDir.resolve("logs").resolve("proxy.log");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(log) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(log).as("the launcher got as far as starting the proxy").exists();
    List<ProcessHandle> started = ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().orElse("").contains(dataDir.toString())).toList();
    assertThat(started).as("servers and PostgreSQL were running").isNotEmpty();

    launcher.destroy();

    assertThat(launcher.waitFor(60, TimeUnit.SECONDS)).as("the launcher stopped").isTrue();
    for (ProcessHandle p : started) {
      assertThat(p.onExit().completeOnTimeout(p, 30, TimeUnit.SECONDS).get().isAlive())
          .as("%s is still running", p.info().commandLine().orElse("?")).isFalse();
    }
    assertThat(dataDir.resolve("pg").resolve("postmaster.pid")).as("PostgreSQL stopped").doesNotExist();
  }

  /** Stopped once the cluster serves (Ctrl-C through deploy/local/run), the launcher stops it at once. */
  @Test
  void main_stoppedOnceServing_stopsEverythingPromptly() throws Exception {
    Path root = Path.of(System.getProperty("fortress.root", "../..")).toAbsolutePath().normalize();
    Process launcher = launcherProcess("--root=" + root, "--nodes=1", "--supervise=false");
    java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(launcher.getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("Fortress local cluster is ready")) {
      // the launcher's log, until the banner
    }
    assertThat(line).as("the cluster started").isNotNull();
    List<ProcessHandle> servers = ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().orElse("").contains(dataDir.toString())).toList();

    long stopping = System.nanoTime();
    launcher.destroy();

    assertThat(launcher.waitFor(30, TimeUnit.SECONDS)).as("the launcher stopped within 30 s").isTrue();
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - stopping)).isLessThan(30);
    assertThat(servers).isNotEmpty();
    for (ProcessHandle p : servers) {
      assertThat(p.onExit().completeOnTimeout(p, 10, TimeUnit.SECONDS).get().isAlive())
          .as("%s is still running", p.info().commandLine().orElse("?")).isFalse();
    }
  }

  /**
   * A launcher killed outright (SIGKILL) cannot stop its servers; the next launcher on the folder
   * finds them in servers.pid and stops them.
   */
  @Test
  void theServersOfAKilledLauncher_areStoppedByTheNextOne() throws Exception {
    Path root = Path.of(System.getProperty("fortress.root", "../..")).toAbsolutePath().normalize();
    Process launcher = launcherProcess("--root=" + root, "--nodes=1");
    Path pids = dataDir.resolve(ServerPids.FILE);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while ((!Files.exists(pids) || Files.readAllLines(pids).size() < 4) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    launcher.destroyForcibly().waitFor();
    List<ProcessHandle> left = Files.readAllLines(pids).stream()
        .map(line -> ProcessHandle.of(Long.parseLong(line.split(" ")[1])).orElseThrow()).toList();
    assertThat(left).as("the killed launcher's servers still run").hasSize(4).allMatch(ProcessHandle::isAlive);

    List<String> stopped = ServerPids.stopLeftovers(dataDir);

    assertThat(stopped).hasSize(4);
    assertThat(left).noneMatch(ProcessHandle::isAlive);
    assertThat(pids).doesNotExist();
    // The next launcher's PostgreSQL start stops the one left behind, which nothing holds now.
    LocalPostgres.start(dataDir).close();
    assertThat(dataDir.resolve("pg").resolve("postmaster.pid")).doesNotExist();
  }

  /** Runs the launcher on this test's data folder, free ports and {@code flags}; returns how it ended. */
  private Exit launcher(String... flags) throws IOException, InterruptedException {
    Process p = launcherProcess(flags);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("the launcher did not exit within 60 s: " + new String(p.getInputStream()
          .readAllBytes(), StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Exit(p.exitValue(), out.lines().toList());
  }

  /** Starts the launcher on this test's data folder, free ports and {@code flags}; its output goes to a file. */
  private Process launcherProcess(String... flags) throws IOException {
    // The java flags of deploy/local/run, which silences logback's own start-up report.
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--data-dir=" + dataDir));
    command.addAll(FREE_PORTS);
    command.addAll(List.of(flags));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().keySet().removeIf(name -> name.startsWith("FORTRESS_"));
    return builder.start();
  }
}
