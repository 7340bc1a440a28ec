package fortress.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
  private record Config(String host, int port, boolean verbose) {}

  private static Config read(Settings s) {
    return new Config(s.string("host", "127.0.0.1", "where to bind"), s.integer("port", 50051, 0, 65535, "port"),
        s.bool("verbose", false, "say more"));
  }

  @Test
  void flagsWin_overTheEnvironment_overTheDefaults() {
    assertThat(Settings.parse(new String[0], Map.of(), SettingsTest::read))
        .isEqualTo(new Config("127.0.0.1", 50051, false));
    assertThat(Settings.parse(new String[] {"--port=7", "--verbose=true"}, Map.of("FORTRESS_PORT", "9",
        "FORTRESS_HOST", "0.0.0.0"), SettingsTest::read)).isEqualTo(new Config("0.0.0.0", 7, true));
  }

  @Test
  void everyProblemIsReportedAtOnce_namingTheFlag() {
    assertThatThrownBy(() -> Settings.parse(new String[] {"--port=70000", "--verbose=yes", "--colour=red", "stray"},
        Map.of(), SettingsTest::read)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--port=70000 is out of range")
        .hasMessageContaining("--verbose=yes is not true or false")
        .hasMessageContaining("colour")
        .hasMessageContaining("'stray'");
  }

  @Test
  void usage_listsEveryFlagWithItsDefault() {
    assertThat(Settings.usage("Test.", SettingsTest::read)).contains("--host", "'127.0.0.1'", "--port", "50051",
        "--verbose", "FORTRESS_VERBOSE");
  }
}
