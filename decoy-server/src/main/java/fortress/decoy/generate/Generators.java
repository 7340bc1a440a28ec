package fortress.decoy.generate;

import fortress.decoy.v1.GeneratedRecord;
import fortress.decoy.v1.RecordKind;
import fortress.decoy.v1.TextPassage;
import java.util.SplittableRandom;

/**
 * Records as a pure function of (kind, seed, entity, sequence). With an entity key, record i is
 * the entity's i-th record (a profile is the same for every i); without one, record i is the first
 * record of entity "i". Either way, the same inputs give the same record.
 */
public final class Generators {
  private Generators() {}

  /** One record; {@code text} is the model TEXT records are drawn from. */
  public static GeneratedRecord generate(RecordKind kind, long seed, String entityKey, long index, MarkovText text) {
    GeneratedRecord.Builder r = GeneratedRecord.newBuilder();
    add(r, kind, seed, entityKey, entityKey.isEmpty() ? 0 : Seeds.entity(entityKey), index, text);
    return r.build();
  }

  /**
   * Fills record {@code index} of a stream into {@code r}. {@code entityHash} is
   * {@link Seeds#entity} of a non-empty {@code entityKey}, computed once per stream by the caller.
   */
  public static void add(GeneratedRecord.Builder r, RecordKind kind, long seed, String entityKey, long entityHash, long index,
      MarkovText text) {
    boolean ownEntity = entityKey.isEmpty();
    String entity = ownEntity ? Long.toString(index) : entityKey;
    r.setIndex(index).setEntityKey(entity);
    fill(r, kind, seed, ownEntity ? Seeds.entity(entity) : entityHash, ownEntity ? 0 : index, text);
  }

  /** Sets the kind's field of {@code r} from the record's own random stream. */
  private static void fill(GeneratedRecord.Builder r, RecordKind kind, long seed, long entityHash, long sequence,
      MarkovText text) {
    // A profile describes its entity, whatever the sequence.
    SplittableRandom random = Seeds.random(seed, entityHash, kind == RecordKind.RECORD_KIND_USER_PROFILE ? 0
        : sequence, kind.getNumber());
    switch (kind) {
      case RECORD_KIND_USER_PROFILE -> r.setUserProfile(Profiles.generate(random));
      case RECORD_KIND_TRANSACTION -> r.setTransaction(Transactions.generate(random));
      case RECORD_KIND_LOG_LINE -> r.setLogLine(Logs.generate(random));
      case RECORD_KIND_TEXT -> r.setText(TextPassage.newBuilder().setText(text.passage(random)).setModel(text.name()));
      default -> throw new IllegalArgumentException("no generator for " + kind);
    }
  }
}
