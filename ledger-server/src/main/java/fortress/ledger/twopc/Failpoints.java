package fortress.ledger.twopc;

import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points in the two-phase commit where an armed node kills itself, as a crash would: no
 * shutdown hook, no flush, exit status {@value #EXIT_STATUS}. Armed only by the {@code --failpoints}
 * flag, which fault tests set; a node without it never stops at one. The simulator passes its own
 * action, which may crash the simulated node at any of them.
 */
public final class Failpoints {
  private static final Logger log = LoggerFactory.getLogger(Failpoints.class);
  public static final int EXIT_STATUS = 86;

  /** Coordinator: PREPARING and the held debit are durable, Prepare (sent alongside) answered; no decision yet. */
  public static final String COORDINATOR_AFTER_PREPARING = "coordinator-after-preparing";
  /** Coordinator: PREPARING is durable and the participant voted yes; the decision is not written yet. */
  public static final String COORDINATOR_AFTER_VOTE = "coordinator-after-vote";
  /** Coordinator: COMMITTED is durable; Commit not sent yet. */
  public static final String COORDINATOR_AFTER_DECISION = "coordinator-after-decision";
  /** Participant: PREPARED is durable; the yes vote not sent yet. */
  public static final String PARTICIPANT_AFTER_PREPARE = "participant-after-prepare";

  public static final Set<String> ALL = Set.of(COORDINATOR_AFTER_PREPARING, COORDINATOR_AFTER_VOTE,
      COORDINATOR_AFTER_DECISION, PARTICIPANT_AFTER_PREPARE);

  private final Consumer<String> reached;

  /** Halts the process at the armed points. */
  public Failpoints(Set<String> armed) {
    Set<String> points = Set.copyOf(armed);
    this.reached = name -> {
      if (points.contains(name)) {
        log.error("failpoint {} reached: halting the process", name);
        Runtime.getRuntime().halt(EXIT_STATUS);
      }
    };
  }

  /** Runs {@code reached} at every point (the simulator's crashes). */
  public Failpoints(Consumer<String> reached) {
    this.reached = reached;
  }

  public static Failpoints none() {
    return new Failpoints(Set.of());
  }

  public void hit(String name) {
    reached.accept(name);
  }
}
