package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A small supervised cluster (one node and the proxy) whose servers are killed with SIGKILL from
 * outside, as a crash or the OOM killer would. It runs from a stand-in checkout: each server's jar
 * is a copy and its {@code lib/} a link to the real one, so a test can wreck {@code target/} as a
 * concurrent build would without touching the real checkout.
 */
class SupervisorTest {
  private static final long BACK_WITHIN_MS = 90_000;
  private static Path root;
  private static Path dataDir;
  private static LocalCluster cluster;
  private static final ByteArrayOutputStream output = new ByteArrayOutputStream();

  @BeforeAll
  static void start() throws Exception {
    Path checkout = Path.of(System.getProperty("fortress.root", "../..")).toAbsolutePath();
    root = Files.createTempDirectory("fortress-checkout");
    for (String module : List.of("ledger-server", "shard-proxy")) {
      Path target = Files.createDirectories(root.resolve(module).resolve("target"));
      Files.copy(checkout.resolve(module + "/target/" + module + ".jar"), target.resolve(module + ".jar"));
      Files.createSymbolicLink(target.resolve("lib"), checkout.resolve(module + "/target/lib"));
    }
    dataDir = Files.createTempDirectory("fortress-supervised");
    cluster = LocalCluster.start(new LocalCluster.Options(root, dataDir, 1, "127.0.0.1", 0, 0, 0, 0, 0, "160m", true,
        false));
    Supervisor.watch(cluster, new Supervisor.Policy(3, 60_000, 200, 1_000),
        new PrintStream(output, true, StandardCharsets.UTF_8));
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    for (Path folder : List.of(dataDir, root)) {
      try (Stream<Path> files = Files.walk(folder)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void aServerKilledWithSigkill_isReportedWithTheEndOfItsLog_andComesBackServingByItself() throws Exception {
    long pid = cluster.pid(LocalCluster.PROXY);
    List<String> logged = Files.readAllLines(cluster.logFile(LocalCluster.PROXY)).stream()
        .filter(l -> !l.isBlank()).toList();

    sigkill(pid);

    awaitOutput(LocalCluster.PROXY + " is SERVING again");
    assertThat(output()).contains("supervisor: proxy (pid " + pid + ") died unexpectedly with exit status 137 "
        + "(killed by signal 9, SIGKILL); the last lines of " + cluster.logFile(LocalCluster.PROXY) + ":")
        .contains("  | " + logged.get(logged.size() - 1))
        .contains("supervisor: restarting proxy in 200 ms (restart 1 of at most 3 within 60 s)");
    assertThat(cluster.pid(LocalCluster.PROXY)).isNotEqualTo(pid);
    assertServing(LocalCluster.PROXY);
  }

  @Test
  void aServerTheClusterKills_isLeftToTheCaller_notRestarted() throws Exception {
    long pid = cluster.pid(LocalCluster.PROXY);

    cluster.kill(LocalCluster.PROXY);
    Thread.sleep(2_000); // ten times the first backoff

    assertThat(cluster.isRunning(LocalCluster.PROXY)).isFalse();
    assertThat(cluster.pid(LocalCluster.PROXY)).isEqualTo(pid);
    assertThat(output()).doesNotContain("(pid " + pid + ") died");
    cluster.restart(LocalCluster.PROXY);
  }

  @Test
  void aSupervisedRestart_runsFromTheJarCopiesTakenAtStart_afterABuildRewroteTarget() throws Exception {
    // What mvn verify in another terminal does meanwhile: jars rewritten in place, lib/ replaced.
    Path target = root.resolve("ledger-server/target");
    Files.writeString(target.resolve("ledger-server.jar"), "half-written");
    Files.delete(target.resolve("lib"));
    long pid = cluster.pid("ledger-1");

    sigkill(pid);

    awaitOutput("ledger-1 is SERVING again");
    long restarted = cluster.pid("ledger-1");
    assertThat(restarted).isNotEqualTo(pid);
    assertServing("ledger-1");
    String commandLine = ProcessHandle.of(restarted).flatMap(h -> h.info().commandLine()).orElseThrow();
    assertThat(commandLine).contains(dataDir.resolve("bin").toAbsolutePath().toString())
        .doesNotContain(target.toString());
  }

  private static void sigkill(long pid) throws IOException, InterruptedException {
    assertThat(new ProcessBuilder("kill", "-KILL", Long.toString(pid)).inheritIO().start().waitFor()).isZero();
  }

  private static String output() {
    return output.toString(StandardCharsets.UTF_8);
  }

  private static void awaitOutput(String text) throws InterruptedException {
    long deadline = System.currentTimeMillis() + BACK_WITHIN_MS;
    while (!output().contains(text)) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("the supervisor did not say '" + text + "' within " + BACK_WITHIN_MS
            + " ms; it said:\n" + output());
      }
      Thread.sleep(100);
    }
  }

  private static void assertServing(String name) {
    ManagedChannel channel = cluster.anonymousChannel(name);
    try {
      assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow();
    }
  }
}
