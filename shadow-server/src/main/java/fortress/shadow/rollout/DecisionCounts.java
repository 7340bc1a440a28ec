package fortress.shadow.rollout;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Decisions and disagreements per rollout segment, counted in memory on the hot path and drained
 * into the database by the rollout controller on each tick.
 */
public final class DecisionCounts {
  /** One segment of one rollout. */
  public record Segment(long rolloutId, int segment) {}

  /** Counts to add to a segment's row. */
  public record Delta(long champion, long challenger, long disagreements) {}

  private static final class Counters {
    final LongAdder champion = new LongAdder();
    final LongAdder challenger = new LongAdder();
    final LongAdder disagreements = new LongAdder();
  }

  private final Map<Segment, Counters> counters = new ConcurrentHashMap<>();

  public void record(long rolloutId, int segment, boolean challenger, boolean disagreement) {
    Counters c = counters.computeIfAbsent(new Segment(rolloutId, segment), k -> new Counters());
    (challenger ? c.challenger : c.champion).increment();
    if (disagreement) {
      c.disagreements.increment();
    }
  }

  /** Takes what was counted since the last drain. */
  public Map<Segment, Delta> drain() {
    Map<Segment, Delta> out = new java.util.HashMap<>();
    for (Map.Entry<Segment, Counters> e : counters.entrySet()) {
      Counters c = e.getValue();
      Delta d = new Delta(c.champion.sumThenReset(), c.challenger.sumThenReset(), c.disagreements.sumThenReset());
      if (d.champion() + d.challenger() + d.disagreements() > 0) {
        out.put(e.getKey(), d);
      }
    }
    return out;
  }
}
