package fortress.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
   * SIGKILL after {@value #STOP_WAIT_MS} ms. Returns a line per process stopped.
   */
  static List<String> stopLeftovers(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    List<String> stopped = new ArrayList<>();
    if (!Files.exists(file)) {
      return stopped;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
      String[] parts = line.trim().split(" ");
      if (parts.length != 3) {
        continue;
      }
      Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(parts[1]));
      Instant started = Instant.parse(parts[2]);
      if (p.isEmpty() || !p.get().isAlive() || !started.equals(p.get().info().startInstant().orElse(null))) {
        continue;
      }
      log.warn("stopping {} (pid {}), left running by a launcher that ended without stopping it", parts[0],
          parts[1]);
      p.get().destroy();
      try {
        p.get().onExit().get(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
      } catch (Exception notYet) {
        p.get().destroyForcibly();
      }
      stopped.add(parts[0] + " (pid " + parts[1] + ")");
    }
    Files.delete(file);
    return stopped;
  }
}
