package fortress.ledger;

import com.google.protobuf.Timestamp;
import java.time.Instant;

/** Microseconds since the epoch: the precision of every stored timestamp. */
public final class Times {
  private Times() {}

  public static Timestamp timestamp(long micros) {
    return Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(micros, 1_000_000))
        .setNanos((int) Math.floorMod(micros, 1_000_000) * 1000)
        .build();
  }

  public static long micros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
  }
}
