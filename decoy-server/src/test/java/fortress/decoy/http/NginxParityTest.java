package fortress.decoy.http;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.TestDecoy;
import fortress.decoy.v1.TemplateFamily;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The decoy, serving one nginx-family page at /, answers every probe of {@link Probes} as a real
 * nginx 1.22.1 serving the same page did: the same status line, header names in the same order and
 * case, the same values (but for dates and the time half of the ETag), the same body, and the same
 * closing of the connection. The nginx answers are golden files recorded by
 * {@code src/test/resources/nginx/capture.sh}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NginxParityTest {
  private TestDecoy decoy;

  @BeforeAll
  void start() {
    decoy = Probes.decoyServingRoot(TemplateFamily.TEMPLATE_FAMILY_NGINX_HTML);
  }

  @AfterAll
  void stop() {
    decoy.close();
  }

  @TestFactory
  Stream<DynamicTest> everyProbe_isAnsweredAsNginxAnswersIt() {
    return Probes.all().stream().map(p -> DynamicTest.dynamicTest(p.name(), () -> {
      String golden = golden("nginx", p.name());
      Probes.Answer answer = Probes.exchange("127.0.0.1", decoy.server.httpPort(), p, true);
      assertThat(Probes.differences(golden, answer.raw(), p.head())).as("%s:%n%s", p.name(), answer.raw())
          .isEmpty();
      List<Probes.Response> responses = Probes.parse(golden, p.head());
      boolean closes = responses.get(responses.size() - 1).headers().stream()
          .anyMatch(h -> h[0].equals("Connection") && h[1].equals("close"));
      // nginx lingers after a 413 (it reads on, discarding, so the client sees the answer).
      boolean lingers = p.name().startsWith("body_too_large");
      assertThat(answer.closed()).as("%s: connection closed", p.name()).isEqualTo(closes && !lingers);
    }));
  }

  static String golden(String server, String name) throws IOException {
    try (InputStream in = NginxParityTest.class.getResourceAsStream("/" + server + "/responses/" + name + ".http")) {
      assertThat(in).as("golden file %s/responses/%s.http", server, name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }
}
