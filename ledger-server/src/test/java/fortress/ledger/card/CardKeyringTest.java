package fortress.ledger.card;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.ledger.LedgerConfig;
import fortress.ledger.TestNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --card-previous-keys-file as a node reads it at start-up. */
class CardKeyringTest {
  @TempDir
  Path dir;

  private final String k1 = Base64.getEncoder().encodeToString(TestNode.randomKey());
  private final String k2 = Base64.getEncoder().encodeToString(TestNode.randomKey());

  private IllegalArgumentException refused(String... lines) throws IOException {
    Path file = Files.write(dir.resolve("previous-keys"), java.util.List.of(lines));
    IllegalArgumentException e = catchThrowableOfType(IllegalArgumentException.class, () -> LedgerConfig.parse(
        new String[] {"--card-key-id=k3", "--card-previous-keys-file=" + file}, Map.of()));
    assertThat(e).as("a malformed previous-keys file must stop start-up").isNotNull();
    assertThat(e.getMessage()).contains("--card-previous-keys-file").contains(file.toString());
    return e;
  }

  @Test
  void parse_previousKeysFile_keysByIdWithCommentsAndBlankLines() throws IOException {
    Path file = Files.write(dir.resolve("previous-keys"),
        java.util.List.of("# rotated out in March", "", "k1 " + k1, "  k2\t" + k2 + "  "));
    LedgerConfig config = LedgerConfig.parse(
        new String[] {"--card-key-id=k3", "--card-previous-keys-file=" + file}, Map.of());
    assertThat(config.cardPreviousKeys()).containsOnlyKeys("k1", "k2");
    assertThat(config.cardPreviousKeys().get("k1")).isEqualTo(Base64.getDecoder().decode(k1));
    assertThat(config.toString()).doesNotContain(k1).doesNotContain(k2);
  }

  @Test
  void parse_keyOfWrongLength_refusedNamingTheLineNotTheKey() throws IOException {
    String short24 = Base64.getEncoder().encodeToString(new byte[24]);
    IllegalArgumentException e = refused("k1 " + k1, "k2 " + short24);
    assertThat(e.getMessage()).contains("line 2").contains("32 bytes").doesNotContain(short24).doesNotContain(k1);
  }

  @Test
  void parse_keyNotBase64_refusedWithoutEchoingIt() throws IOException {
    String hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    IllegalArgumentException e = refused("k1 " + hex + "!");
    assertThat(e.getMessage()).contains("line 1").contains("base64").doesNotContain(hex);
  }

  @Test
  void parse_keyAndIdSwapped_refusedWithoutEchoingTheKey() throws IOException {
    IllegalArgumentException e = refused(k1 + " k1");
    assertThat(e.getMessage()).contains("line 1").doesNotContain(k1);
    // A hex key written where the id belongs looks like an id; it is not echoed either.
    String hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    IllegalArgumentException hexFirst = refused(hex + " k1");
    assertThat(hexFirst.getMessage()).contains("line 1").doesNotContain(hex);
  }

  @Test
  void parse_lineWithoutKey_orIdTwice_orCurrentId_refused() throws IOException {
    assertThat(refused("k1").getMessage()).contains("line 1").contains("<key-id> <base64");
    assertThat(refused("k1 " + k1, "k1 " + k2).getMessage()).contains("line 2").doesNotContain(k1).doesNotContain(k2);
    assertThat(refused("k3 " + k1).getMessage()).contains("current --card-key-id 'k3'").doesNotContain(k1);
  }

  @Test
  void parse_missingFile_refused() {
    Path missing = dir.resolve("absent");
    IllegalArgumentException e = catchThrowableOfType(IllegalArgumentException.class, () -> LedgerConfig.parse(
        new String[] {"--card-previous-keys-file=" + missing}, Map.of()));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains(missing + " cannot be read");
  }

  @Test
  void usage_documentsThePreviousKeysFile() {
    assertThat(LedgerConfig.usage()).contains("--card-previous-keys-file").contains("FORTRESS_CARD_PREVIOUS_KEYS_FILE");
  }
}
