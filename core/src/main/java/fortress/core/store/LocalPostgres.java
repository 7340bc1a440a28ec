package fortress.core.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server started from the binaries on the classpath, with durable settings:
 * fsync and synchronous_commit on, so a commit is on disk before it is acknowledged. Its data
 * folder survives restarts. Running as root works: the binaries run in a user namespace.
 */
public final class LocalPostgres implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalPostgres.class);
  private static final Duration STALE_STOP_WAIT = Duration.ofSeconds(30);

  private final EmbeddedPostgres postgres;
  private final Path pgData;

  private LocalPostgres(EmbeddedPostgres postgres, Path pgData) {
    this.postgres = postgres;
    this.pgData = pgData;
  }

  /** Starts (initialising on first use) the server whose data lives in {@code dataDir/pg}. */
  public static LocalPostgres start(Path dataDir) throws IOException {
    return start(dataDir, 0);
  }

  /**
   * The same, listening on {@code port} (0 picks a free one); a restart on the old port keeps
   * every JDBC URL handed out valid.
   */
  public static LocalPostgres start(Path dataDir, int port) throws IOException {
    Path pgData = dataDir.toAbsolutePath().resolve("pg");
    Files.createDirectories(pgData);
    stopOrphanedPostmaster(pgData);
    EmbeddedPostgres postgres = EmbeddedPostgres.builder()
        .setPgBinaryResolver(LocalPostgres::binaries)
        .setDataDirectory(pgData)
        .setCleanDataDirectory(false)
        .setPort(port)
        .setRegisterShutdownHook(false)
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        .setServerConfig("full_page_writes", "on")
        .setServerConfig("max_connections", "300")
        .setServerConfig("shared_buffers", "128MB")
        .setPGStartupWait(Duration.ofSeconds(120))
        .start();
    LocalPostgres local = new LocalPostgres(postgres, pgData);
    local.checkDurable();
    log.info("PostgreSQL running on port {} with data in {}", postgres.getPort(), pgData);
    return local;
  }

  /**
   * Starts the server in {@code dataDir} for one server process and makes sure {@code database}
   * exists; its URL is {@link #jdbcUrl(String)}. Stops the server again if the database cannot be made.
   */
  public static LocalPostgres start(Path dataDir, String database) throws IOException {
    LocalPostgres local = start(dataDir);
    try {
      local.ensureDatabase(database);
      return local;
    } catch (SQLException e) {
      local.close();
      throw new IOException("cannot create the " + database + " database", e);
    }
  }

  /**
   * The PostgreSQL binaries for this machine, the first copy on the classpath. (A server jar's
   * manifest class path can put the binaries jar on the classpath twice, which the default
   * resolver refuses.)
   */
  private static java.io.InputStream binaries(String system, String hardware) throws IOException {
    String arch = hardware.equalsIgnoreCase("amd64") ? "x86_64" : hardware.toLowerCase(java.util.Locale.ROOT);
    String name = "postgres-" + system.toLowerCase(java.util.Locale.ROOT) + "-" + arch + ".txz";
    java.io.InputStream in = LocalPostgres.class.getResourceAsStream("/" + name);
    if (in == null) {
      throw new IOException("no embedded PostgreSQL binaries (" + name + ") on the classpath for this machine");
    }
    return in;
  }

  public int port() {
    return postgres.getPort();
  }

  public Path dataDirectory() {
    return pgData;
  }

  /** The postmaster's process id, from postmaster.pid. */
  public Optional<Long> postmasterPid() {
    return readPid(pgData);
  }

  public String jdbcUrl(String database) {
    return postgres.getJdbcUrl("postgres", database);
  }

  /** Creates the database if it does not exist yet, and returns its JDBC URL. */
  public String ensureDatabase(String database) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"));
         PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      exists.setString(1, database);
      try (ResultSet rs = exists.executeQuery()) {
        if (!rs.next()) {
          try (Statement create = c.createStatement()) {
            create.execute("CREATE DATABASE \"" + database.replace("\"", "") + "\"");
          }
        }
      }
    }
    return jdbcUrl(database);
  }

  private void checkDurable() throws IOException {
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"));
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT current_setting('fsync'), current_setting('synchronous_commit')")) {
      rs.next();
      if (!"on".equals(rs.getString(1)) || !"on".equals(rs.getString(2))) {
        throw new IllegalStateException("embedded PostgreSQL is not durable: fsync=" + rs.getString(1)
            + ", synchronous_commit=" + rs.getString(2));
      }
    } catch (SQLException e) {
      throw new IOException("cannot reach the embedded PostgreSQL", e);
    }
  }

  /**
   * A node killed with SIGKILL leaves its postmaster running. Stop it (SIGTERM, then wait) so the
   * data folder can be started again; PostgreSQL itself cleans up after a postmaster that died.
   */
  private static void stopOrphanedPostmaster(Path pgData) throws IOException {
    Optional<ProcessHandle> orphan = readPid(pgData).flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive);
    if (orphan.isEmpty()) {
      return;
    }
    log.warn("stopping PostgreSQL (pid {}) left running by an earlier process on {}", orphan.get().pid(), pgData);
    orphan.get().destroy();
    try {
      orphan.get().onExit().get(STALE_STOP_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IOException("PostgreSQL pid " + orphan.get().pid() + " on " + pgData + " did not stop; stop it by hand", e);
    }
  }

  private static Optional<Long> readPid(Path pgData) {
    Path pidFile = pgData.resolve("postmaster.pid");
    try {
      if (!Files.exists(pidFile)) {
        return Optional.empty();
      }
      String first = Files.readAllLines(pidFile, StandardCharsets.US_ASCII).get(0).trim();
      return Optional.of(Long.parseLong(first));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Stops the server as a power cut would: SIGQUIT to the postmaster is PostgreSQL's immediate
   * shutdown, with no checkpoint, so the next start replays the WAL. Only committed (fsynced)
   * transactions may survive that. The object is closed afterwards.
   */
  public void crash() throws IOException {
    Optional<ProcessHandle> postmaster = postmasterPid().flatMap(ProcessHandle::of);
    if (postmaster.isPresent()) {
      try {
        new ProcessBuilder("kill", "-QUIT", Long.toString(postmaster.get().pid())).inheritIO().start().waitFor();
        postmaster.get().onExit().get(STALE_STOP_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        throw new IOException("PostgreSQL pid " + postmaster.get().pid() + " did not stop on SIGQUIT", e);
      }
    }
    // pg_ctl stop now finds no server and the embedded wrapper logs that; it still releases the data folder.
    close();
  }

  @Override
  public void close() throws IOException {
    postgres.close();
  }

  /** Stops the server during a shutdown that must go on: a failure is logged, not thrown. */
  public void stopLogged() {
    try {
      close();
    } catch (IOException e) {
      log.warn("embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
    }
  }
}
