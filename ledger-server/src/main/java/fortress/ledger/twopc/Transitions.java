package fortress.ledger.twopc;

import static com.google.common.base.Preconditions.checkState;

import fortress.shard.v1.Role;
import fortress.shard.v1.TransactionState;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The legal moves of a two-phase commit transaction, per role: the one table every state change
 * goes through. A move not in the table is a bug; it stops the operation (the writer rolls back
 * its batch and retries each operation alone) instead of being ignored. Repeating a step that
 * already happened is not a move: the steps answer it from the state in force.
 *
 * <pre>
 * coordinator  (new) -> PREPARING -> COMMITTED -> DONE
 *                       PREPARING -> ABORTED
 *              (new) -> ABORTED            a tombstone: GetDecision before any begin, so a late begin fails
 * participant  (new) -> PREPARED  -> COMMITTED
 *                       PREPARED  -> ABORTED
 *              (new) -> ABORTED            an Abort before any Prepare, so a late Prepare votes no
 * </pre>
 */
public final class Transitions {
  /** The state of a row not written yet. */
  static final TransactionState NEW = TransactionState.TRANSACTION_STATE_UNSPECIFIED;

  private static final Map<Role, Map<TransactionState, Set<TransactionState>>> LEGAL = new EnumMap<>(Role.class);

  static {
    Map<TransactionState, Set<TransactionState>> coordinator = new EnumMap<>(TransactionState.class);
    coordinator.put(NEW, EnumSet.of(TransactionState.TRANSACTION_STATE_PREPARING,
        TransactionState.TRANSACTION_STATE_ABORTED));
    coordinator.put(TransactionState.TRANSACTION_STATE_PREPARING,
        EnumSet.of(TransactionState.TRANSACTION_STATE_COMMITTED, TransactionState.TRANSACTION_STATE_ABORTED));
    coordinator.put(TransactionState.TRANSACTION_STATE_COMMITTED, EnumSet.of(TransactionState.TRANSACTION_STATE_DONE));
    LEGAL.put(Role.ROLE_COORDINATOR, coordinator);
    Map<TransactionState, Set<TransactionState>> participant = new EnumMap<>(TransactionState.class);
    participant.put(NEW, EnumSet.of(TransactionState.TRANSACTION_STATE_PREPARED,
        TransactionState.TRANSACTION_STATE_ABORTED));
    participant.put(TransactionState.TRANSACTION_STATE_PREPARED,
        EnumSet.of(TransactionState.TRANSACTION_STATE_COMMITTED, TransactionState.TRANSACTION_STATE_ABORTED));
    LEGAL.put(Role.ROLE_PARTICIPANT, participant);
  }

  private Transitions() {}

  /** True if a transaction in {@code role} may move from {@code from} to {@code to}. */
  static boolean legal(Role role, TransactionState from, TransactionState to) {
    return LEGAL.get(role).getOrDefault(from, Set.of()).contains(to);
  }

  /** Fails loudly unless the move is in the table. */
  static void check(Role role, String txid, TransactionState from, TransactionState to) {
    checkState(legal(role, from, to), "transaction %s: %s may not move from %s to %s", txid, role, from, to);
  }

  /** A decision in force: COMMITTED (or DONE, which follows it) versus ABORTED; null while undecided. */
  static Boolean committed(TransactionState state) {
    return switch (state) {
      case TRANSACTION_STATE_COMMITTED, TRANSACTION_STATE_DONE -> true;
      case TRANSACTION_STATE_ABORTED -> false;
      default -> null;
    };
  }
}
