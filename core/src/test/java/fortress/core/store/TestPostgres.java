package fortress.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/** One real, durable PostgreSQL for the whole test run; every test node gets a fresh database. */
public final class TestPostgres {
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static LocalPostgres postgres;

  private TestPostgres() {}

  public static synchronized LocalPostgres get() {
    if (postgres == null) {
      try {
        Path dir = Path.of("target", "test-postgres");
        deleteTree(dir);
        postgres = LocalPostgres.start(dir);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            postgres.close();
          } catch (IOException e) {
            System.err.println("test PostgreSQL did not stop: " + e.getMessage());
          }
        }));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return postgres;
  }

  /** A new, empty database's JDBC URL. */
  public static String newDatabase() {
    try {
      return get().ensureDatabase("test_" + DATABASES.incrementAndGet());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
