package fortress.local;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The servers run from copies of their jars in {@code <data-dir>/bin}, never from {@code target/}.
 *
 * <p>Why: a developer runs {@code deploy/local/run} in one terminal and {@code mvn verify} in
 * another. That build rewrites (or cleans) the jars under {@code target/} while the servers run
 * from them, and a restart would then start a half-written jar. So, before anything starts, each
 * server jar and every jar on its manifest {@code Class-Path} is copied into {@code bin/}, and the
 * server runs as {@code java -cp <copies> <Main-Class>}. Every command, and so every restart, uses
 * the copies taken at start.
 *
 * <p>How: a copy's name carries the source's size and modification time
 * ({@code guava-33.6.0-jre-3064793-1792191593000.jar}). A rebuilt jar gets a new copy; an unchanged
 * one, shared by every server and every later start on the same data folder, is copied once. A
 * copy is written under a temporary name and then renamed into place, so no file a process has open
 * is ever rewritten. A source that changes while it is being copied (a build writing it) fails
 * the start, loudly. Copies no server of this start uses are deleted at the end.
 */
final class JarCopies {
  private final Path bin;
  private final Set<Path> used = new HashSet<>();

  JarCopies(Path bin) throws IOException {
    this.bin = Files.createDirectories(bin).toAbsolutePath();
  }

  /** The java arguments that run {@code jar} from copies: {@code -cp <copies> <Main-Class>}. */
  List<String> runArguments(Path jar) throws IOException {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build it first (mvn -DskipTests package)");
    }
    Path copy = copy(jar);
    Manifest manifest;
    try (JarFile file = new JarFile(copy.toFile())) {
      manifest = file.getManifest();
    } catch (IOException e) {
      throw new IllegalStateException(jar + " cannot be read as a jar (is a build writing it?): " + e.getMessage(), e);
    }
    String mainClass = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.MAIN_CLASS);
    if (mainClass == null) {
      throw new IllegalStateException(jar + " names no Main-Class in its manifest");
    }
    List<String> classPath = new ArrayList<>(List.of(copy.toString()));
    String entries = manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
    for (String entry : entries == null ? new String[0] : entries.trim().split("\\s+")) {
      // Entries are relative to the jar's folder; the JVM skips missing ones, and so do we.
      Path source = Path.of(jar.toAbsolutePath().getParent().toUri().resolve(entry));
      if (Files.isRegularFile(source)) {
        classPath.add(copy(source).toString());
      }
    }
    return List.of("-cp", String.join(File.pathSeparator, classPath), mainClass);
  }

  private Path copy(Path source) throws IOException {
    BasicFileAttributes before = Files.readAttributes(source, BasicFileAttributes.class);
    String name = source.getFileName().toString();
    String stem = name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name;
    Path target = bin.resolve(stem + "-" + before.size() + "-" + before.lastModifiedTime().toMillis() + ".jar");
    if (!Files.exists(target)) {
      Path temporary = Files.createTempFile(bin, ".copy-", ".tmp");
      try {
        Files.copy(source, temporary, StandardCopyOption.REPLACE_EXISTING);
        BasicFileAttributes after = Files.readAttributes(source, BasicFileAttributes.class);
        if (after.size() != before.size() || !after.lastModifiedTime().equals(before.lastModifiedTime())
            || Files.size(temporary) != before.size()) {
          throw new IllegalStateException(source + " changed while it was being copied: a build is writing it; "
              + "start again once the build is done");
        }
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(temporary);
      }
    }
    used.add(target);
    return target;
  }

  /** Deletes the copies in {@code bin/} that no server of this start runs from (earlier builds' jars). */
  void deleteUnused() throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(bin)) {
      for (Path file : files) {
        if (Files.isRegularFile(file) && !used.contains(file)) {
          Files.delete(file);
        }
      }
    }
  }
}
