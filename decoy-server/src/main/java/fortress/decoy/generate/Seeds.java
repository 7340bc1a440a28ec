package fortress.decoy.generate;

import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Turns (seed, entity, sequence, kind) into an independent random stream. Every record gets its
 * own SplittableRandom, so generation needs no shared state and no locks, and any record can be
 * regenerated alone.
 */
public final class Seeds {
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private Seeds() {}

  /** The SplitMix64 finalizer: a bijection that scatters nearby inputs. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A 64-bit hash of an entity key. */
  public static long entity(String key) {
    return Hashing.murmur3_128().hashString(key, StandardCharsets.UTF_8).asLong();
  }

  /** The random stream of one record. */
  public static SplittableRandom random(long seed, long entityHash, long sequence, int kind) {
    return new SplittableRandom(mix(seed + GOLDEN * mix(entityHash + GOLDEN * mix(sequence + GOLDEN * kind))));
  }
}
