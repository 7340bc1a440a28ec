package fortress.decoy.api;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static fortress.decoy.TestDecoy.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.rpc.TestCalls;
import fortress.decoy.TestDecoy;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ExportInteractionsResponse;
import fortress.decoy.v1.ListInteractionsRequest;
import fortress.decoy.v1.ListInteractionsResponse;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RecordSamplesRequest;
import fortress.shadow.v1.RecordSamplesResponse;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ExportInteractions against a stand-in shadow server speaking the real shadow contract over TCP.
 * It stores each RecordSamples request_id once, as the shadow server does, and can be told to
 * fail calls, so the test can check that a retried export resumes and records nothing twice.
 */
class ExportTest {
  /**
   * The shadow contract's RecordSamples: idempotent by request_id, checking what the shadow server
   * checks (request_id, sample count, attribute lengths), optionally failing or refusing.
   */
  private static final class StandInShadow extends ShadowServiceGrpc.ShadowServiceImplBase {
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    final Map<String, RecordSamplesRequest> stored = new LinkedHashMap<>();
    final List<Integer> requestBytes = new ArrayList<>();
    final AtomicInteger failNext = new AtomicInteger();
    final AtomicInteger refuseNext = new AtomicInteger();
    /** The call of this number (from 1) is stored, and then answered UNAVAILABLE as if the reply was lost. */
    final AtomicInteger loseReplyOfCall = new AtomicInteger();

    @Override
    public synchronized void recordSamples(RecordSamplesRequest r, StreamObserver<RecordSamplesResponse> out) {
      requestBytes.add(r.getSerializedSize());
      if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        out.onError(Status.UNAVAILABLE.withDescription("shadow database down").asRuntimeException());
        return;
      }
      if (refuseNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        out.onError(Status.INVALID_ARGUMENT.withDescription("samples[0].attributes.path: refused")
            .asRuntimeException());
        return;
      }
      String problem = problem(r);
      if (problem != null) {
        out.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
        return;
      }
      RecordSamplesRequest earlier = stored.putIfAbsent(r.getRequestId(), r);
      if (earlier != null && !earlier.equals(r)) {
        out.onError(Status.ALREADY_EXISTS.withDescription("REQUEST_ID_REUSED").asRuntimeException());
        return;
      }
      if (requestBytes.size() == loseReplyOfCall.get()) {
        out.onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
        return;
      }
      long total = stored.values().stream().filter(x -> x.getDataset().equals(r.getDataset()))
          .mapToLong(RecordSamplesRequest::getSamplesCount).sum();
      out.onNext(RecordSamplesResponse.newBuilder().setDataset(r.getDataset()).setRecordedCount(r.getSamplesCount())
          .setDatasetSampleCount(total).build());
      out.onCompleted();
    }

    private static String problem(RecordSamplesRequest r) {
      if (!REQUEST_ID.matcher(r.getRequestId()).matches()) {
        return "request_id: must be 1-128 of [A-Za-z0-9._:-]";
      }
      if (r.getSamplesCount() < 1 || r.getSamplesCount() > 10_000) {
        return "samples: must hold 1-10000 samples";
      }
      for (Sample s : r.getSamplesList()) {
        RequestAttributes a = s.getAttributes();
        List<String> values = new ArrayList<>(List.of(a.getIp(), a.getMethod(), a.getPath(), a.getUserAgent()));
        values.addAll(a.getHeadersMap().values());
        if (values.stream().anyMatch(v -> v.length() > 2048) || a.getHeadersCount() > 64
            || a.getHeadersMap().keySet().stream().anyMatch(n -> n.isEmpty() || n.length() > 256
            || !n.equals(n.toLowerCase(Locale.ROOT)))) {
          return "samples: an attribute is out of bounds";
        }
      }
      return null;
    }

    synchronized List<Sample> samples() {
      List<Sample> all = new ArrayList<>();
      stored.values().forEach(r -> all.addAll(r.getSamplesList()));
      return all;
    }
  }

  private static final int SHADOW_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

  private final StandInShadow shadow = new StandInShadow();
  private Server shadowServer;
  private TestDecoy decoy;

  @BeforeEach
  void start() throws Exception {
    // The shadow server's inbound limit: --max-message-bytes, 4 MiB by default.
    shadowServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(SHADOW_MESSAGE_BYTES_MAX).addService(shadow).build().start();
    decoy = new TestDecoy("--shadow-target=127.0.0.1:" + shadowServer.getPort(),
        "--http-rate-per-client-per-second=100000", "--http-burst-per-client=100000");
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

  /**
   * One request as large as the decoy listener takes: a 4 KiB request line and 8 KiB of headers,
   * with bytes above 0x7F (each one character that takes two bytes in UTF-8).
   */
  private void sendLargest(int n) throws Exception {
    String high = "\u00e9";
    StringBuilder head = new StringBuilder("GET /").append(high.repeat(2047)).append("?")
        .append(high.repeat(2029)).append(" HTTP/1.1\r\n");
    head.append("Host: decoy\r\nx-n: ").append(n).append("\r\n");
    for (int h = 0; h < 15; h++) {
      String name = "x-pad-" + h + "-";
      head.append(name).append("p".repeat(100 - name.length())).append(": ").append(high.repeat(400)).append("\r\n");
    }
    head.append("Connection: close\r\n\r\n");
    try (Socket socket = new Socket("127.0.0.1", decoy.server.httpPort())) {
      socket.getOutputStream().write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      String status = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(status).startsWith("HTTP/1.1 404");
    }
  }

  @Test
  void aThousandOfTheLargestRequests_allArriveOnce_inPagesWithinTheByteBudget_evenAfterALostReply() throws Exception {
    for (int n = 0; n < 1_000; n++) {
      sendLargest(n);
    }
    TestCalls.await(() -> decoy.server.interactionsWritten() >= 1_030, Duration.ofSeconds(60));
    ExportInteractionsRequest export = ExportInteractionsRequest.newBuilder().setRequestId(id())
        .setDataset("honeypot").build();
    shadow.loseReplyOfCall.set(3);
    var lost = refused(() -> decoy.stub.exportInteractions(export));
    assertThat(info(lost).getReason()).isEqualTo("SHADOW_UNAVAILABLE");

    ExportInteractionsResponse done = decoy.stub.exportInteractions(export);

    assertThat(done.getExportedCount()).isEqualTo(1_030);
    assertThat(done.getDatasetSampleCount()).isEqualTo(1_030);
    List<Sample> samples = shadow.samples();
    assertThat(samples).hasSize(1_030);
    List<Sample> large = samples.stream().filter(s -> s.getAttributes().containsHeaders("x-n")).toList();
    assertThat(large).extracting(s -> s.getAttributes().getHeadersOrThrow("x-n"))
        .containsExactlyElementsOf(IntStream.range(0, 1_000).mapToObj(String::valueOf).toList());
    // Small extracts only: a failure message holding 1,000 large samples would not fit the test's heap.
    assertThat(large.stream().map(s -> s.getAttributes().getPath()).distinct().toList()).as("nothing cut")
        .containsExactly("/" + "\u00e9".repeat(2047));
    assertThat(large.stream().map(s -> s.getAttributes().getHeadersMap().keySet().stream()
        .filter(name -> name.startsWith("x-pad-")).count()).distinct().toList()).containsExactly(15L);
    assertThat(large.stream().filter(s -> s.getAttributes().containsHeaders(Samples.HEADERS_CUT)).count()).isZero();
    assertThat(large.stream().map(s -> s.getAttributes().getHeadersOrDefault("x-pad-14-" + "p".repeat(91), ""))
        .distinct().toList()).containsExactly("\u00e9".repeat(400));
    assertThat(shadow.requestBytes).as("every page fits the budget").hasSizeGreaterThan(5)
        .allSatisfy(bytes -> assertThat(bytes).isLessThanOrEqualTo(Export.PAGE_BYTES_MAX));

    // The same interactions, listed in pages of up to 1,000 through a client with the default
    // 4 MiB message limit: every page is cut by bytes, and together they hold every interaction.
    int listed = 0;
    int pages = 0;
    String token = "";
    do {
      ListInteractionsResponse page = decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
          .setPageSize(1_000).setPageToken(token).build());
      assertThat(page.getSerializedSize()).isLessThanOrEqualTo(DecoyService.LIST_PAGE_BYTES_MAX + 64 * 1024);
      listed += page.getInteractionsCount();
      pages++;
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    assertThat(listed).isEqualTo(1_030);
    assertThat(pages).isGreaterThan(5);
  }

  @Test
  void aPageTheShadowServerRefusesForGood_stopsTheExportWithAClearError_thatARetryResumesPast() {
    ExportInteractionsRequest export = ExportInteractionsRequest.newBuilder().setRequestId(id())
        .setDataset("honeypot").build();
    shadow.refuseNext.set(1);

    var refused = refused(() -> decoy.stub.exportInteractions(export));

    assertThat(refused.getStatus().getCode()).as("%s", refused.getStatus()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(refused).getReason()).isEqualTo("SHADOW_REFUSED");
    assertThat(info(refused).getMetadataMap()).containsEntry("shadow_code", "INVALID_ARGUMENT")
        .containsKeys("first_interaction_id", "last_interaction_id");
    assertThat(refused.getStatus().getDescription()).contains("samples[0].attributes.path: refused");
    assertThat(shadow.samples()).isEmpty();

    ExportInteractionsResponse resumed = decoy.stub.exportInteractions(export);
    assertThat(resumed.getExportedCount()).isEqualTo(30);
    assertThat(shadow.samples()).hasSize(30);
  }

  @Test
  void anExportWithTheLongestRequestId_givesEveryPageARequestIdTheShadowServerTakes() {
    ExportInteractionsRequest export = ExportInteractionsRequest.newBuilder().setRequestId("r".repeat(128))
        .setDataset("honeypot").build();

    ExportInteractionsResponse done = decoy.stub.exportInteractions(export);

    assertThat(done.getExportedCount()).isEqualTo(30);
    assertThat(shadow.samples()).hasSize(30);
    assertThat(decoy.stub.exportInteractions(export)).isEqualTo(done);
  }
}
