package fortress.ledger.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The chain's hashes are stored in every journal, so they never change: these vectors were taken
 * from the first implementation (a fresh ByteBuffer per entry) and pin the canonical bytes.
 */
class ChainTest {
  private static final byte[] KEY = "node key".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PREV = new byte[32];

  static {
    PREV[0] = 7;
  }

  @Test
  void hash_asciiEntry_matchesStoredChains() {
    Chain chain = new Chain(KEY);

    byte[] hash = chain.hash(PREV, 42, 7, 3, 1000, 5000, 250, "req-1", null, "tr-x", "", 1_795_000_000_000_000L);

    assertThat(HexFormat.of().formatHex(hash))
        .isEqualTo("110cbebc6e2ab8b0c0ea5436c2a7c5b5c8dd5cb3b47581263a1472b3bbfeda3c");
    assertThat(HexFormat.of().formatHex(chain.hmac(hash)))
        .isEqualTo("f62c1eab8e3b1c8ea81d3e70b2154f95a964579f47ef7a4a736d81737cdb859e");
  }

  @Test
  void hash_nonAsciiTextAfterLongerEntry_matchesStoredChains() {
    Chain chain = new Chain(KEY);
    chain.hash(PREV, 1, 1, 1, 1, 1, 1, "x".repeat(600), "h", "t", "m".repeat(300), 1);

    byte[] hash = chain.hash(PREV, 43, 8, 9, 1, 2, 0, null, "hold:é", null, "mémo ✓ 😀", -5);

    assertThat(HexFormat.of().formatHex(hash))
        .isEqualTo("79e884ee090439bacc41a0263c75e96f30c9482ef5c42f7ebb7c2464948b9834");
  }
}
