package fortress.decoy.api;

import fortress.core.rpc.TestCalls;
import static fortress.decoy.TestDecoy.id;
import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.TestDecoy;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ExportInteractionsResponse;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RecordSamplesRequest;
import fortress.shadow.v1.RecordSamplesResponse;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ExportInteractions against a stand-in shadow server speaking the real shadow contract over TCP.
 * It stores each RecordSamples request_id once, as the shadow server does, and can be told to
 * fail calls, so the test can check that a retried export resumes and records nothing twice.
 */
class ExportTest {
  /** The shadow contract's RecordSamples: idempotent by request_id, optionally failing. */
  private static final class StandInShadow extends ShadowServiceGrpc.ShadowServiceImplBase {
    final Map<String, RecordSamplesRequest> stored = new LinkedHashMap<>();
    final AtomicInteger failNext = new AtomicInteger();

    @Override
    public synchronized void recordSamples(RecordSamplesRequest r, StreamObserver<RecordSamplesResponse> out) {
      if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        out.onError(Status.UNAVAILABLE.withDescription("shadow database down").asRuntimeException());
        return;
      }
      stored.putIfAbsent(r.getRequestId(), r);
      long total = stored.values().stream().filter(x -> x.getDataset().equals(r.getDataset()))
          .mapToLong(RecordSamplesRequest::getSamplesCount).sum();
      out.onNext(RecordSamplesResponse.newBuilder().setDataset(r.getDataset()).setRecordedCount(r.getSamplesCount())
          .setDatasetSampleCount(total).build());
      out.onCompleted();
    }

    synchronized List<Sample> samples() {
      List<Sample> all = new ArrayList<>();
      stored.values().forEach(r -> all.addAll(r.getSamplesList()));
      return all;
    }
  }

  private final StandInShadow shadow = new StandInShadow();
  private Server shadowServer;
  private TestDecoy decoy;

  @BeforeEach
  void start() throws Exception {
    shadowServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(shadow).build()
        .start();
    decoy = new TestDecoy("--shadow-target=127.0.0.1:" + shadowServer.getPort());
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id()).setTemplate(Template.newBuilder()
        .setTemplateId("login").setMethod("POST").setPathPattern("/login").setStatus(401)
        .setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API).setBody("{\"error\":\"invalid credentials\"}")).build());
    HttpClient client = HttpClient.newHttpClient();
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(decoy.http() + "/login"))
          .header("User-Agent", "hydra/9.5").POST(HttpRequest.BodyPublishers.ofString("user=admin&pass=" + i))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(401);
    }
    TestCalls.await(() -> decoy.server.interactionsWritten() >= 30, Duration.ofSeconds(20));
  }

  @AfterEach
  void stop() {
    decoy.close();
    shadowServer.shutdownNow();
  }

  @Test
  void interactions_becomeMaliciousSamples_withTheRequestsAttributes() {
    ExportInteractionsResponse done = decoy.stub.exportInteractions(ExportInteractionsRequest.newBuilder()
        .setRequestId(id()).setDataset("honeypot").build());
    assertThat(done.getExportedCount()).isEqualTo(30);
    assertThat(done.getDatasetSampleCount()).isEqualTo(30);
    assertThat(done.getLastInteractionId()).startsWith("i-");
    List<Sample> samples = shadow.samples();
    assertThat(samples).hasSize(30).allSatisfy(s -> {
      assertThat(s.getLabel()).isEqualTo(Label.LABEL_MALICIOUS);
      assertThat(s.getAttributes().getMethod()).isEqualTo("POST");
      assertThat(s.getAttributes().getPath()).isEqualTo("/login");
      assertThat(s.getAttributes().getIp()).isEqualTo("127.0.0.1");
      assertThat(s.getAttributes().getUserAgent()).isEqualTo("hydra/9.5");
      assertThat(s.getAttributes().getBytes()).isBetween(17L, 18L);
    });
    assertThat(samples.get(29).getAttributes().getRequestsPerMinute()).isEqualTo(30);

    ExportInteractionsResponse next = decoy.stub.exportInteractions(ExportInteractionsRequest.newBuilder()
        .setRequestId(id()).setDataset("honeypot").setAfterInteractionId(done.getLastInteractionId()).build());
    assertThat(next.getExportedCount()).isZero();
    assertThat(shadow.samples()).hasSize(30);
  }

  @Test
  void aRetriedExport_resumesWhereItStopped_andRecordsEachInteractionOnce() {
    ExportInteractionsRequest first = ExportInteractionsRequest.newBuilder().setRequestId(id()).setDataset("honeypot")
        .setMaxInteractions(10).build();
    ExportInteractionsResponse ten = decoy.stub.exportInteractions(first);
    assertThat(ten.getExportedCount()).isEqualTo(10);

    ExportInteractionsRequest rest = ExportInteractionsRequest.newBuilder().setRequestId(id()).setDataset("honeypot")
        .setAfterInteractionId(ten.getLastInteractionId()).build();
    shadow.failNext.set(1);
    var down = refused(() -> decoy.stub.exportInteractions(rest));
    assertThat(down.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(info(down).getReason()).isEqualTo("SHADOW_UNAVAILABLE");
    ExportInteractionsResponse resumed = decoy.stub.exportInteractions(rest);
    assertThat(resumed.getExportedCount()).isEqualTo(20);
    assertThat(decoy.stub.exportInteractions(rest)).as("a replay answers the same").isEqualTo(resumed);
    assertThat(decoy.stub.exportInteractions(first)).isEqualTo(ten);
    assertThat(shadow.samples()).hasSize(30);
    assertThat(resumed.getDatasetSampleCount()).isEqualTo(30);

    var reused = refused(() -> decoy.stub.exportInteractions(rest.toBuilder().setDataset("other").build()));
    assertThat(info(reused).getReason()).isEqualTo("REQUEST_ID_REUSED");
  }
}
