package fortress.proxy.redis;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A real redis-server for tests: the binary that the embedded-redis artifact on Maven Central
 * carries, run as its own process on loopback with persistence off, and killable with SIGKILL.
 */
final class LocalRedis implements AutoCloseable {
  private static Path binary;

  private final int port;
  private Process process;

  private LocalRedis(int port) {
    this.port = port;
  }

  static LocalRedis start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    LocalRedis redis = new LocalRedis(port);
    redis.restart();
    return redis;
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  void restart() throws Exception {
    process = new ProcessBuilder(List.of(binary().toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--protected-mode", "no"))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!pong()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("redis-server did not start on port " + port);
      }
      Thread.sleep(20);
    }
  }

  private boolean pong() {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] answer = new byte[7];
      return s.getInputStream().read(answer) > 0 && new String(answer, StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGKILL: no goodbye to connected clients. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
  }

  String url() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      kill();
    }
  }

  private static synchronized Path binary() throws IOException {
    if (binary != null) {
      return binary;
    }
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    boolean arm = arch.contains("aarch64") || arch.contains("arm64");
    String name = os.contains("mac") ? (arm ? "redis-server-6.2.6-v5-darwin-arm64" : "redis-server-6.2.6-v5-darwin-amd64")
        : arm ? "redis-server-6.2.7-linux-arm64" : "redis-server-6.2.6-v5-linux-amd64";
    try (InputStream in = LocalRedis.class.getResourceAsStream("/" + name)) {
      if (in == null) {
        throw new IOException("no redis-server binary " + name + " on the test classpath");
      }
      Path file = Files.createTempFile("redis-server", "");
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      file.toFile().setExecutable(true);
      file.toFile().deleteOnExit();
      binary = file;
      return file;
    }
  }
}
