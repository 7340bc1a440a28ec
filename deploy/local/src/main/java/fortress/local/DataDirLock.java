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
import java.util.Optional;

/**
 * An exclusive lock on {@code <data-dir>/launcher.lock}, held while a cluster runs on that folder.
 * A second launcher on the same folder would otherwise stop the first one's PostgreSQL (which
 * {@code LocalPostgres} takes for one left behind) and fight over its ports; with the lock it is
 * refused with one line instead. The operating system drops the lock when the holder ends, however
 * it ends, so a killed launcher leaves nothing to clean up. The file holds the holder's pid, for
 * the message.
 */
final class DataDirLock implements AutoCloseable {
  static final String FILE = "launcher.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the lock of {@code dataDir}, or returns empty when another launcher holds it. */
  static Optional<DataDirLock> tryAcquire(Path dataDir) throws IOException {
    Files.createDirectories(dataDir);
    FileChannel channel = FileChannel.open(dataDir.resolve(FILE), StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException heldByThisProcess) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      return Optional.empty();
    }
    channel.truncate(0);
    channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    return Optional.of(new DataDirLock(channel, lock));
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
    lock.release();
    channel.close();
  }
}
