package fortress.core.ring;

import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ring as written in a file (protobuf text format of {@code fortress.cluster.v1.Ring}). The
 * ring is read once at start; {@link #refresh()} reads the file again if it changed, which a node
 * does before refusing an account it does not own and the proxy does after a node refused one. A
 * file that no longer parses or validates leaves the current ring in place, with a warning.
 */
public final class RingFile {
  private static final Logger log = LoggerFactory.getLogger(RingFile.class);

  private final Path path;
  private volatile Ring current;
  private FileTime readAt;

  private RingFile(Path path, Ring ring, FileTime readAt) {
    this.path = path;
    this.current = ring;
    this.readAt = readAt;
  }

  /** Reads the ring; throws IllegalArgumentException saying what is wrong with the file. */
  public static RingFile open(Path path) {
    try {
      FileTime modified = Files.getLastModifiedTime(path);
      return new RingFile(path, read(path), modified);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the ring file " + path + ": " + e.getMessage(), e);
    }
  }

  /** Parses and validates a ring file. */
  public static Ring read(Path path) throws IOException {
    fortress.cluster.v1.Ring.Builder spec = fortress.cluster.v1.Ring.newBuilder();
    try {
      TextFormat.merge(Files.readString(path, StandardCharsets.UTF_8), spec);
    } catch (TextFormat.ParseException e) {
      throw new IllegalArgumentException("ring file " + path + " is not a fortress.cluster.v1.Ring in text format: "
          + e.getMessage(), e);
    }
    try {
      return Ring.of(spec.build());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("ring file " + path + ": " + e.getMessage(), e);
    }
  }

  /** Writes a ring description in the text format this class reads. */
  public static void write(Path path, fortress.cluster.v1.Ring spec) throws IOException {
    Files.writeString(path, "# Fortress ledger ring (fortress.cluster.v1.Ring, protobuf text format)\n"
        + TextFormat.printer().printToString(spec), StandardCharsets.UTF_8);
  }

  public Ring current() {
    return current;
  }

  public Path path() {
    return path;
  }

  /** Reads the file again if it changed since the last read; returns the ring now in force. */
  public synchronized Ring refresh() {
    try {
      FileTime modified = Files.getLastModifiedTime(path);
      if (modified.equals(readAt)) {
        return current;
      }
      Ring ring = read(path);
      readAt = modified;
      if (ring.epoch() < current.epoch()) {
        log.warn("ring file {} has epoch {}, older than the ring in force ({}); keeping the newer ring",
            path, ring.epoch(), current.epoch());
        return current;
      }
      if (ring.epoch() != current.epoch()) {
        log.info("ring file {} changed: {} replaces {}", path, ring, current);
      }
      current = ring;
    } catch (IOException | IllegalArgumentException e) {
      log.warn("keeping ring epoch {}: {}", current.epoch(), e.getMessage());
    }
    return current;
  }
}
