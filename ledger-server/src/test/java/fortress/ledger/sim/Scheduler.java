package fortress.ledger.sim;

import java.util.PriorityQueue;

/**
 * The simulation's only thread of control: events at simulated times, run one at a time in time
 * order (ties in the order they were scheduled), so one seed always gives one run.
 */
final class Scheduler {
  private record Event(long atMicros, long order, Runnable action) {}

  private final PriorityQueue<Event> events = new PriorityQueue<>(
      (a, b) -> a.atMicros != b.atMicros ? Long.compare(a.atMicros, b.atMicros) : Long.compare(a.order, b.order));
  private long nowMicros;
  private long scheduled;
  private long ran;

  long nowMicros() {
    return nowMicros;
  }

  long nowMillis() {
    return nowMicros / 1000;
  }

  /** Events run so far: the simulation's steps. */
  long steps() {
    return ran;
  }

  void after(long delayMicros, Runnable action) {
    events.add(new Event(nowMicros + Math.max(0, delayMicros), scheduled++, action));
  }

  /** Runs the next event; false when there is none. */
  boolean step() {
    Event e = events.poll();
    if (e == null) {
      return false;
    }
    nowMicros = e.atMicros;
    ran++;
    e.action.run();
    return true;
  }
}
