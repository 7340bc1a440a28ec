package fortress.local;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server processes a launcher runs, in {@code <data-dir>/servers.pid}: name, pid and start
 * time of each. A launcher killed outright (SIGKILL) cannot stop its servers, and they would hold
 * the folder's PostgreSQL and every port; the next launcher on the folder stops them first. The
 * start time tells a server apart from an unrelated process that got its pid later.
 */
final class ServerPids {
  static final String FILE = "servers.pid";
  private static final Logger log = LoggerFactory.getLogger(ServerPids.class);
  private static final long STOP_WAIT_MS = 10_000;
  private static final long START_TIME_SLACK_MS = 1_000;

  private ServerPids() {}

  /** Records the processes now running, replacing what the file held. */
  static void write(Path dataDir, Map<String, Process> running) throws IOException {
    StringBuilder lines = new StringBuilder();
    running.forEach((name, p) -> p.info().startInstant().ifPresent(started ->
        lines.append(name).append(' ').append(p.pid()).append(' ').append(started).append('\n')));
    Path tmp = dataDir.resolve(FILE + ".tmp");
    Files.writeString(tmp, lines, StandardCharsets.US_ASCII);
    Files.move(tmp, dataDir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Stops every process the file names that still runs with the same start time: SIGTERM, then
   * SIGKILL after {@value #STOP_WAIT_MS} ms. Returns a line per process it stopped (one it could
   * not stop, another user's say, is logged).
   */
  static List<String> stopLeftovers(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    List<String> stopped = new ArrayList<>();
    if (!Files.exists(file)) {
      return stopped;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
      String[] parts = line.trim().split(" ");
      Optional<ProcessHandle> p;
      Instant started;
      try {
        p = ProcessHandle.of(Long.parseLong(parts[1]));
        started = Instant.parse(parts[2]);
      } catch (RuntimeException malformed) {
        log.warn("{}: ignoring a line that is not 'name pid start-time': {}", file, line);
        continue;
      }
      // The start time the JDK reports moves a little with the system clock (NTP, suspend):
      // within a second is the same process; a reused pid started later than that.
      if (p.isEmpty() || !p.get().isAlive() || p.get().info().startInstant()
          .map(now -> Math.abs(Duration.between(started, now).toMillis()) > START_TIME_SLACK_MS).orElse(true)) {
        continue;
      }
      log.warn("stopping {} (pid {}), left running by a launcher that ended without stopping it", parts[0],
          parts[1]);
      if (stop(p.get())) {
        stopped.add(parts[0] + " (pid " + parts[1] + ")");
      } else {
        log.error("{} (pid {}) could not be stopped; stop it by hand", parts[0], parts[1]);
      }
    }
    Files.delete(file);
    return stopped;
  }

  /** SIGTERM, then SIGKILL; true once the process has ended. */
  private static boolean stop(ProcessHandle p) throws InterruptedIOException {
    p.destroy();
    for (boolean forced : new boolean[] {false, true}) {
      if (forced) {
        p.destroyForcibly();
      }
      try {
        p.onExit().get(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
        return true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while stopping pid " + p.pid());
      } catch (ExecutionException | TimeoutException notYet) {
        // SIGKILL next, or give up
      }
    }
    return !p.isAlive();
  }
}
