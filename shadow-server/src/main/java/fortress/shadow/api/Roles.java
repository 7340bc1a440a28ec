package fortress.shadow.api;

import fortress.core.security.Caller;
import java.util.Optional;

/**
 * The roles a token carries for the shadow server, one per kind of work; the {@code admin} role
 * passes everywhere. With tokens off there is no caller and no role is checked.
 */
public final class Roles {
  /** Decide and ReportOutcome: a gateway deciding live requests for its tenant. */
  public static final String DECIDE = "shadow.decide";
  /** RecordSamples: whoever labels traffic for evaluation. */
  public static final String RECORD = "shadow.record";
  /** StartEvaluation, GetEvaluation and GetDataset. */
  public static final String EVALUATE = "shadow.evaluate";
  /** GetRule, ListRules, GetRollout and ListDeployments: rule expressions and their deployment. */
  public static final String RULES_READ = "shadow.rules.read";
  /**
   * The decoy's export token. It may RecordSamples, and what it records makes its dataset
   * attacker-supplied.
   */
  public static final String DECOY = "decoy";

  private Roles() {}

  /** Whether the caller's samples are attacker-supplied: it carries the decoy role. */
  static boolean decoy(Optional<Caller> caller) {
    return caller.isPresent() && caller.get().roles().contains(DECOY);
  }

  /** Whether the caller may do what {@code role} allows; true with tokens off. */
  static boolean has(Optional<Caller> caller, String role) {
    return caller.isEmpty() || caller.get().admin() || caller.get().roles().contains(role);
  }
}
