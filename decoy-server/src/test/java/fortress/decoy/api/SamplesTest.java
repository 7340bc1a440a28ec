package fortress.decoy.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import fortress.decoy.v1.Interaction;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import org.junit.jupiter.api.Test;

/** What one recorded request can contribute to an export, however large it was stored. */
class SamplesTest {
  private static final int SHADOW_ATTRIBUTE_LENGTH_MAX = 2048;

  @Test
  void anOversizedInteraction_isCutToTheCaps_withMarkersGivingTheOriginalLengths() {
    Interaction.Builder huge = Interaction.newBuilder().setInteractionId("i-1")
        .setTime(Timestamp.newBuilder().setSeconds(1_700_000_000))
        .setClientIp("1".repeat(5_000)).setMethod("M".repeat(5_000)).setPath("/" + "\u4e2d".repeat(99_999))
        .setBodyBytes(10_000_000);
    for (int h = 0; h < 200; h++) {
      huge.putHeaders("x-" + h + "-" + "n".repeat(1_000), "\u4e2d".repeat(10_000));
    }
    huge.putHeaders("user-agent", "a".repeat(3_000));

    Sample s = new Samples().sample(huge.build());

    assertThat(s.getSerializedSize()).isLessThanOrEqualTo(Samples.SAMPLE_BYTES_MAX);
    RequestAttributes a = s.getAttributes();
    assertThat(a.getPath()).hasSize(Samples.PATH_CHARS_MAX).startsWith("/\u4e2d")
        .endsWith("...[truncated from 100000 chars]");
    assertThat(a.getIp()).hasSize(Samples.IP_CHARS_MAX).endsWith("...[truncated from 5000 chars]");
    assertThat(a.getMethod()).hasSize(Samples.METHOD_CHARS_MAX).endsWith("...[truncated from 5000 chars]");
    assertThat(a.getUserAgent()).hasSize(Samples.HEADER_VALUE_CHARS_MAX).endsWith("[truncated from 3000 chars]");
    assertThat(a.getBytes()).isEqualTo(10_000_000);
    assertThat(a.getHeadersMap()).containsKey(Samples.HEADERS_CUT);
    assertThat(a.getHeadersOrThrow(Samples.HEADERS_CUT)).matches("kept \\d+ of 201 headers");
    assertThat(a.getHeadersCount()).isBetween(2, Samples.HEADERS_MAX + 1);
    a.getHeadersMap().forEach((name, value) -> {
      assertThat(name).hasSizeLessThanOrEqualTo(Samples.HEADER_NAME_CHARS_MAX).isLowerCase();
      assertThat(value).hasSizeLessThanOrEqualTo(Samples.HEADER_VALUE_CHARS_MAX);
    });
    assertThat(a.getHeadersMap().entrySet()).filteredOn(e -> e.getKey().matches("x-\\d+-.*"))
        .allSatisfy(e -> assertThat(e.getKey()).matches("x-\\d+-n+\\.\\.\\.\\[truncated from 10\\d\\d chars]"));
    assertThat(a.getPath().length()).isLessThanOrEqualTo(SHADOW_ATTRIBUTE_LENGTH_MAX);
  }

  @Test
  void anInteractionWithinTheCaps_isSentWhole() {
    Interaction small = Interaction.newBuilder().setInteractionId("i-2").setClientIp("203.0.113.9").setMethod("POST")
        .setPath("/login").putHeaders("user-agent", "hydra/9.5").putHeaders("host", "decoy").setBodyBytes(17).build();

    RequestAttributes a = new Samples().sample(small).getAttributes();

    assertThat(a.getIp()).isEqualTo("203.0.113.9");
    assertThat(a.getPath()).isEqualTo("/login");
    assertThat(a.getHeadersMap()).containsExactlyInAnyOrderEntriesOf(small.getHeadersMap());
    assertThat(a.getUserAgent()).isEqualTo("hydra/9.5");
    assertThat(a.getRequestsPerMinute()).isEqualTo(1);
  }

  @Test
  void cut_neverEndsInsideASurrogatePair() {
    String emoji = "\ud83d\ude00".repeat(100);
    String cut = Samples.cut(emoji, 64);
    String kept = cut.substring(0, cut.indexOf("..."));
    assertThat(kept.length() % 2).isZero();
    assertThat(cut).hasSizeLessThanOrEqualTo(64).endsWith("[truncated from 200 chars]");
  }
}
