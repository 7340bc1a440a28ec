package fortress.decoy.http;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.TestDecoy;
import fortress.decoy.v1.TemplateFamily;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The decoy, serving one IIS-family page at /, answers as IIS 10 and HTTP.sys answer: the probes
 * in {@code src/test/resources/iis/responses}, written from their documented stock answers (see the
 * README there; IIS cannot be run here, so these are fewer and more modest than nginx's).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IisParityTest {
  private static final Set<String> DOCUMENTED = Set.of("get_root", "head_root", "get_nonexistent", "head_nonexistent",
      "post_root", "http11_without_host", "garbage_request_line", "headers_over_32k", "long_uri");

  private TestDecoy decoy;

  @BeforeAll
  void start() {
    decoy = Probes.decoyServingRoot(TemplateFamily.TEMPLATE_FAMILY_IIS);
  }

  @AfterAll
  void stop() {
    decoy.close();
  }

  @TestFactory
  Stream<DynamicTest> documentedProbes_areAnsweredAsIisAnswersThem() {
    return Probes.all().stream().filter(p -> DOCUMENTED.contains(p.name())).map(p -> DynamicTest.dynamicTest(
        p.name(), () -> {
          String golden = NginxParityTest.golden("iis", p.name());
          Probes.Answer answer = Probes.exchange("127.0.0.1", decoy.server.httpPort(), p, true);
          assertThat(Probes.differences(golden, answer.raw(), p.head())).as("%s:%n%s", p.name(), answer.raw())
              .isEmpty();
          assertThat(answer.closed()).as("%s: connection closed", p.name())
              .isEqualTo(golden.contains("\r\nConnection: close\r\n"));
        }));
  }
}
