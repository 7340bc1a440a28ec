package fortress.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * An exclusive lock on {@code <data-dir>/launcher.lock}, held while a cluster runs on that folder.
 * A second launcher on the same folder would otherwise stop the first one's PostgreSQL (which
 * {@code LocalPostgres} takes for one left behind) and fight over its ports; with the lock it is
 * refused with one line instead. The operating system drops the lock when the holder ends, however
 * it ends; the servers a killed launcher leaves running are stopped by the next one ({@link
 * ServerPids}). The file holds the holder's pid, for the message.
 */
final class DataDirLock implements AutoCloseable {
  static final String FILE = "launcher.lock";

  /** The lock files this process holds. */
  private static final Set<Path> HELD = new HashSet<>();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of {@code dataDir}, or returns empty when another launcher holds it. A folder
   * this process holds already is refused before its file is opened: closing a second channel to
   * the file would drop the lock the first one holds (locks belong to the process).
   */
  static Optional<DataDirLock> tryAcquire(Path dataDir) throws IOException {
    Files.createDirectories(dataDir);
    Path file = dataDir.toRealPath().resolve(FILE);
    synchronized (HELD) {
      if (HELD.contains(file)) {
        return Optional.empty();
      }
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException | IOException e) {
        channel.close();
        throw e instanceof IOException io ? io : new IOException(e);
      }
      if (lock == null) {
        channel.close();
        return Optional.empty();
      }
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
      HELD.add(file);
      return Optional.of(new DataDirLock(file, channel, lock));
    }
  }

  /** The one line saying that {@code dataDir} is taken, with the holder's pid when it can be read. */
  static String heldMessage(Path dataDir) {
    String pid;
    try {
      pid = Files.readString(dataDir.resolve(FILE), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      pid = "";
    }
    String holder = pid.isEmpty() ? "" : " (launcher pid " + pid + ")";
    return "a Fortress local cluster already runs on " + dataDir.toAbsolutePath().normalize() + holder
        + "; stop it first (Ctrl-C in its terminal) or pass --data-dir=<another folder>";
  }

  @Override
  public void close() throws IOException {
    synchronized (HELD) {
      try {
        lock.release();
        channel.close();
      } finally {
        HELD.remove(file);
      }
    }
  }
}
