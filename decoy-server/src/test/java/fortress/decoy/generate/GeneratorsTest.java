package fortress.decoy.generate;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.v1.GeneratedRecord;
import fortress.decoy.v1.RecordKind;
import java.util.HashSet;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class GeneratorsTest {
  private static final MarkovText TEXT = MarkovText.builtIn();

  @Property(tries = 200)
  void theSameSeedAndEntity_alwaysGiveTheSameRecord(@ForAll long seed, @ForAll @StringLength(max = 40) String entity,
      @ForAll("kinds") RecordKind kind) {
    GeneratedRecord a = Generators.generate(kind, seed, entity, 3, TEXT);
    GeneratedRecord b = Generators.generate(kind, seed, entity, 3, TEXT);
    assertThat(a).isEqualTo(b);
  }

  @net.jqwik.api.Provide
  net.jqwik.api.Arbitrary<RecordKind> kinds() {
    return net.jqwik.api.Arbitraries.of(RecordKind.RECORD_KIND_USER_PROFILE, RecordKind.RECORD_KIND_TRANSACTION,
        RecordKind.RECORD_KIND_LOG_LINE, RecordKind.RECORD_KIND_TEXT);
  }

  @Test
  void anEntityHasOneProfile_andItsOwnSequenceOfTransactions() {
    GeneratedRecord first = Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, 7, "alice", 0, TEXT);
    GeneratedRecord later = Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, 7, "alice", 41, TEXT);
    assertThat(later.getUserProfile()).isEqualTo(first.getUserProfile());
    assertThat(Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, 7, "bob", 0, TEXT).getUserProfile())
        .isNotEqualTo(first.getUserProfile());
    assertThat(Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, 8, "alice", 0, TEXT).getUserProfile())
        .isNotEqualTo(first.getUserProfile());

    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 1_000; i++) {
      ids.add(Generators.generate(RecordKind.RECORD_KIND_TRANSACTION, 7, "alice", i, TEXT).getTransaction()
          .getTransactionId());
    }
    assertThat(ids).hasSize(1_000);
  }

  @Test
  void withoutAnEntityKey_recordIIsTheFirstRecordOfEntityI() {
    for (RecordKind kind : new RecordKind[] {RecordKind.RECORD_KIND_USER_PROFILE, RecordKind.RECORD_KIND_TRANSACTION}) {
      GeneratedRecord keyless = Generators.generate(kind, 11, "", 5, TEXT);
      GeneratedRecord keyed = Generators.generate(kind, 11, "5", 0, TEXT);
      assertThat(keyless.getEntityKey()).isEqualTo("5");
      assertThat(keyless.toBuilder().clearIndex().build()).isEqualTo(keyed.toBuilder().clearIndex().build());
    }
  }

  @Test
  void profilesAreConsistent_andInRange() {
    for (int i = 0; i < 5_000; i++) {
      var p = Generators.generate(RecordKind.RECORD_KIND_USER_PROFILE, 3, "", i, TEXT).getUserProfile();
      assertThat(p.getAge()).isBetween(18, 90);
      Regions.Region region = Regions.regionOf(p.getCountry(), p.getCity(), p.getTimezone());
      assertThat(region).as("%s", p).isNotNull();
      assertThat(region.name()).isEqualTo(p.getRegion());
      Regions.Locale locale = region.locales().stream().filter(l -> l.country().equals(p.getCountry())).findFirst()
          .orElseThrow();
      assertThat(locale.givenNames()).contains(p.getGivenName());
      assertThat(locale.familyNames()).contains(p.getFamilyName());
      assertThat(p.getEmail()).matches("[a-z0-9.]+@[a-z0-9.-]+")
          .contains(p.getFamilyName().toLowerCase().replaceAll("[^a-z]", ""));
    }
  }

  @Test
  void logLines_fillTheirTemplates_andText_isWholeSentencesOfTheModel() {
    for (int i = 0; i < 500; i++) {
      var line = Generators.generate(RecordKind.RECORD_KIND_LOG_LINE, 1, "", i, TEXT).getLogLine();
      assertThat(line.getLine()).contains(line.getMessage()).contains("[" + line.getService() + "]");
      assertThat(line.getMessage()).doesNotContain("{").isNotBlank();
      var text = Generators.generate(RecordKind.RECORD_KIND_TEXT, 1, "", i, TEXT).getText();
      assertThat(text.getText()).matches("[A-Z].*[.!?]");
      assertThat(text.getModel()).isEqualTo("default");
    }
    MarkovText trained = MarkovText.train("tiny", "alpha beta gamma delta. alpha beta epsilon zeta eta theta iota kappa "
        + "lambda mu nu xi omicron pi rho sigma tau upsilon.");
    String passage = Generators.generate(RecordKind.RECORD_KIND_TEXT, 9, "", 0, trained).getText().getText();
    assertThat(passage).startsWith("alpha beta");
  }
}
