package fortress.decoy.http;

import fortress.core.rpc.TestCalls;
import static fortress.decoy.TestDecoy.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import fortress.decoy.TestDecoy;
import fortress.decoy.template.Pages;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.Interaction;
import fortress.decoy.v1.ListInteractionsRequest;
import fortress.decoy.v1.ListInteractionsResponse;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The decoy HTTP listener over real sockets: templates, consistency, family 404s, limits and capture. */
class DecoyHttpTest {
  private static final String USERS = """
      {"id":"{{uuid}}","name":"{{profile.name}}","email":"{{profile.email}}","city":"{{profile.city}}",\
      "last_payment":{"amount":"{{transaction.amount}}","category":"{{transaction.category}}"},\
      "requested":"{{path.id}}"}""";

  private TestDecoy decoy;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeEach
  void start() {
    decoy = new TestDecoy("--http-rate-per-client-per-second=100000", "--http-burst-per-client=100000",
        "--http-request-bytes-max=4096", "--http-headers-max=20", "--http-connections-per-client-max=2048",
        "--http-connections-max=2048");
    template("users", "GET", "/api/v1/users/{id}", TemplateFamily.TEMPLATE_FAMILY_JSON_API, "", USERS);
    template("keyed", "GET", "/api/v1/me", TemplateFamily.TEMPLATE_FAMILY_JSON_API, "header:authorization",
        "{\"email\":\"{{profile.email}}\"}");
    template("home", "GET", "/", TemplateFamily.TEMPLATE_FAMILY_IIS, "", "<html><body>Welcome back, "
        + "{{profile.given_name}}</body></html>");
  }

  @AfterEach
  void stop() {
    decoy.close();
  }

  private void template(String id, String method, String path, TemplateFamily family, String clientKey, String body) {
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id()).setTemplate(Template.newBuilder()
        .setTemplateId(id).setMethod(method).setPathPattern(path).setStatus(200).setFamily(family)
        .setClientKey(clientKey).setSeed(42).putHeaders("Cache-Control", "no-store").setBody(body)).build());
  }

  private HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(decoy.http() + path)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void nothingLeaks(String headersAndBody) {
    assertThat(headersAndBody.toLowerCase(Locale.ROOT)).doesNotContain("java").doesNotContain("netty")
        .doesNotContain("exception").doesNotContain("fortress").doesNotContain("\tat ");
  }

  @Test
  void aTemplate_servesConsistentFakeDataToAReturningClient_andOtherDataToOthers() throws Exception {
    HttpResponse<String> first = get("/api/v1/users/17", "User-Agent", "curl/8.5.0");
    HttpResponse<String> again = get("/api/v1/users/17", "User-Agent", "curl/8.5.0");
    HttpResponse<String> other = get("/api/v1/users/17", "User-Agent", "python-requests/2.32");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("server")).hasValue(Pages.NGINX);
    assertThat(first.headers().firstValue("content-type")).contains("application/json");
    assertThat(first.headers().firstValue("cache-control")).contains("no-store");
    assertThat(first.body()).matches("\\{\"id\":\"[0-9a-f-]{36}\",\"name\":\"[A-Z][a-z]+ [A-Z][a-z]+\",\"email\":"
        + "\"[a-z0-9.]+@[a-z0-9.-]+\",\"city\":\"[A-Za-z ]+\",\"last_payment\":\\{\"amount\":\"[0-9]+\\.[0-9]{2}\","
        + "\"category\":\"[a-z_]+\"},\"requested\":\"17\"}");
    assertThat(again.body()).isEqualTo(first.body());
    assertThat(other.body()).isNotEqualTo(first.body());
    nothingLeaks(first.headers().map() + first.body());

    HttpResponse<String> a = get("/api/v1/me", "Authorization", "Bearer abc", "User-Agent", "one");
    HttpResponse<String> b = get("/api/v1/me", "Authorization", "Bearer abc", "User-Agent", "two");
    HttpResponse<String> c = get("/api/v1/me", "Authorization", "Bearer xyz", "User-Agent", "one");
    assertThat(a.body()).isEqualTo(b.body()).isNotEqualTo(c.body());
  }

  @Test
  void pathValuesAreEscaped_soAClientCannotInjectIntoTheBody() throws Exception {
    HttpResponse<String> r = get("/api/v1/users/%22%3Cscript%3E");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).doesNotContain("<script>");
  }

  @Test
  void unknownPaths_getA404InTheStyleOfTheirNeighbours() throws Exception {
    HttpResponse<String> api = get("/api/v1/orders");
    assertThat(api.statusCode()).isEqualTo(404);
    assertThat(api.headers().firstValue("server")).hasValue(Pages.NGINX);
    assertThat(api.body()).isEqualTo("{\"error\":{\"code\":404,\"message\":\"Not Found\"}}\n");
    HttpResponse<String> site = get("/wp-login.php");
    assertThat(site.statusCode()).isEqualTo(404);
    assertThat(site.headers().firstValue("server")).contains("Microsoft-IIS/10.0");
    assertThat(site.body()).contains("<title>404 - File or directory not found.</title>");
    nothingLeaks(api.headers().map() + api.body() + site.headers().map() + site.body());
  }

  @Test
  void oversizedAndMalformedRequests_getTheFrontsOwnAnswers_andNothingLeaks() throws Exception {
    // This site's root page is IIS's, so HTTP.sys parses its requests and refuses the bad ones.
    String big = raw("POST /api/v1/users/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + "x".repeat(10_000));
    assertThat(big).as("IIS request filtering answers a long body with its 404").startsWith("HTTP/1.1 404 Not Found\r\n")
        .contains("\r\nServer: Microsoft-IIS/10.0\r\n").contains("404 - File or directory not found.");
    nothingLeaks(big);

    StringBuilder many = new StringBuilder("GET /api/v1/users/1 HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 30; i++) {
      many.append("X-Probe-").append(i).append(": v\r\n");
    }
    String headers = raw(many + "\r\n");
    assertThat(headers).startsWith("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=us-ascii\r\n"
        + "Server: Microsoft-HTTPAPI/2.0\r\n").contains("<h2>Bad Request - Request Too Long</h2>");

    String garbage = raw("GARBAGE\r\n\r\n");
    assertThat(garbage).startsWith("HTTP/1.1 400 Bad Request").contains("HTTP Error 400. The request is badly formed.");
    nothingLeaks(garbage);
    String longLine = raw("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(longLine).startsWith("HTTP/1.1 414 Request-URI Too Long").contains("Request URL Too Long");
    nothingLeaks(longLine);
    String hugeHeader = raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n");
    assertThat(hugeHeader).startsWith("HTTP/1.1 400 Bad Request").contains("Bad Request - Header Field Too Long");
    assertThat(hugeHeader).doesNotContain(" 431 ");
    nothingLeaks(hugeHeader);

    assertThat(get("/api/v1/users/2").statusCode()).as("the listener still serves").isEqualTo(200);
  }

  @Test
  void headersAreWrittenAsNginxWritesThem() throws Exception {
    String response = raw("GET /api/v1/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: ")
        .contains("\r\nContent-Type: application/json\r\n").contains("\r\nConnection: close\r\n")
        .endsWith("\r\n\r\n{\"error\":{\"code\":404,\"message\":\"Not Found\"}}\n");
  }

  @Test
  void aTemplatesAnswer_carriesItsReasonPhrase() throws Exception {
    assertThat(raw("GET /api/v1/users/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        .startsWith("HTTP/1.1 200 OK\r\n");
    assertThat(raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200 OK\r\n");
  }

  @Test
  void theDate_isAnImfFixdate_withATwoDigitDay() {
    assertThat(Replies.date(java.time.Instant.parse("2026-12-05T01:02:03Z"))).isEqualTo("Sat, 05 Dec 2026 01:02:03 GMT");
    assertThat(raw("GET /api/v1/users/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        .containsPattern("\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
            + "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT\r\n");
  }

  @Test
  void head_getsTheHeadersOfGet_andNoBody() throws Exception {
    String get = raw("GET /api/v1/users/5 HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nConnection: close\r\n\r\n");
    String head = raw("HEAD /api/v1/users/5 HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nConnection: close\r\n\r\n");
    assertThat(head).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\n");
    assertThat(head.replaceAll("Date: [^\r]*", "")).isEqualTo(get.substring(0, get.indexOf("\r\n\r\n") + 4)
        .replaceAll("Date: [^\r]*", ""));
  }

  @Test
  void otherMethodsOnAServedPath_get405() throws Exception {
    String post = raw("POST /api/v1/users/5 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    assertThat(post).startsWith("HTTP/1.1 405 Method Not Allowed\r\n");
    String iis = raw("DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(iis).startsWith("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, OPTIONS, TRACE\r\n")
        .contains("405 - HTTP verb used to access this page is not allowed.");
  }

  @Test
  void anHttp11RequestWithoutHost_isRefused() throws Exception {
    assertThat(raw("GET / HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400 Bad Request\r\n")
        .contains("Bad Request - Invalid Hostname");
    assertThat(raw("GET / HTTP/1.0\r\n\r\n")).as("HTTP/1.0 needs no Host").startsWith("HTTP/1.1 200 OK\r\n");
  }

  @Test
  void aTemplateSettingTheServerHeader_stillSendsOnlyOne() throws Exception {
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id()).setTemplate(Template.newBuilder()
        .setTemplateId("banner").setMethod("GET").setPathPattern("/banner").setStatus(200)
        .setFamily(TemplateFamily.TEMPLATE_FAMILY_NGINX_HTML).setSeed(1).putHeaders("server", "nginx")
        .putHeaders("X-Frame-Options", "SAMEORIGIN").setBody("<p>hi</p>")).build());
    String response = raw("GET /banner HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    String head = response.substring(0, response.indexOf("\r\n\r\n")).toLowerCase(Locale.ROOT);
    assertThat(head.split("\r\nserver: ", -1)).as(response).hasSize(2);
    assertThat(response).contains("\r\nServer: nginx\r\n").contains("\r\nX-Frame-Options: SAMEORIGIN\r\n");
  }

  @Test
  void pipelinedRequests_areAnsweredInOrder_onOneConnection() throws Exception {
    String both = raw("GET /api/v1/users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        + "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(both).startsWith("HTTP/1.1 200 OK\r\n");
    assertThat(both.indexOf("HTTP/1.1 404 Not Found\r\n")).isGreaterThan(0);
  }

  @Test
  void aClientTricklingItsHeaders_isCutOffAtTheHeaderDeadline_andCaptured() throws Exception {
    try (TestDecoy slow = new TestDecoy("--http-header-timeout-ms=1500");
        Socket s = new Socket("127.0.0.1", slow.server.httpPort())) {
      s.setSoTimeout(200);
      OutputStream out = s.getOutputStream();
      out.write("GET /slowloris HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      boolean closed = false;
      // One header line every 300 ms would hold the connection forever under an idle timeout.
      for (int i = 0; i < 30 && !closed; i++) {
        try {
          out.write(("X-Slow-" + i + ": 1\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          closed = s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
          // Not cut off yet.
        } catch (IOException reset) {
          closed = true;
        }
        Thread.sleep(100);
      }
      Duration held = Duration.ofNanos(System.nanoTime() - start);
      assertThat(closed).as("cut off").isTrue();
      assertThat(held).isLessThan(Duration.ofSeconds(4));
      TestCalls.await(() -> slow.server.interactionsWritten() >= 1, Duration.ofSeconds(10));
      Interaction seen = slow.stub.listInteractions(ListInteractionsRequest.getDefaultInstance()).getInteractions(0);
      assertThat(seen.getPath()).isEqualTo("/slowloris");
      assertThat(seen.getStatus()).isEqualTo(408);
    }
  }

  @Test
  void connectionsOverTheCaps_areClosedAtOnce() throws Exception {
    try (TestDecoy capped = new TestDecoy("--http-connections-max=3", "--http-connections-per-client-max=2")) {
      int port = capped.server.httpPort();
      java.net.InetAddress other = java.net.InetAddress.getByName("127.0.0.2");
      try (Socket a = new Socket("127.0.0.1", port); Socket b = new Socket("127.0.0.1", port)) {
        assertThat(served(a)).isTrue();
        assertThat(served(b)).isTrue();
        try (Socket c = new Socket("127.0.0.1", port)) {
          assertThat(served(c)).as("a third from one client").isFalse();
        }
        try (Socket d = new Socket("127.0.0.1", port, other, 0)) {
          assertThat(served(d)).as("another client").isTrue();
          try (Socket e = new Socket("127.0.0.1", port, other, 0)) {
            assertThat(served(e)).as("a fourth in all").isFalse();
          }
        }
      }
      // Served again once the others are closed (the listener sees the closes a moment later).
      TestCalls.await(() -> {
        try (Socket again = new Socket("127.0.0.1", port)) {
          return served(again);
        } catch (IOException e) {
          return false;
        }
      }, Duration.ofSeconds(5));
    }
  }

  @Test
  void theLargestRecordAClientCanCause_staysWithinTheCaptureBound() {
    // Every field at its longest, in wire characters (a char per byte) that take two bytes of UTF-8.
    String wide = "\u00ff";
    List<String[]> headers = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      headers.add(new String[] {"X-" + i + wide.repeat(200), wide.repeat(1000)});
    }
    Interaction captured = fortress.decoy.capture.Capture.bounded(Interaction.newBuilder()
        .setClientIp("2001:db8::1").setMethod(wide.repeat(100)).setPath(wide.repeat(5000)).setQuery(wide.repeat(5000))
        .setBodySha256("0".repeat(64)), headers);
    assertThat(captured.getSerializedSize()).isLessThanOrEqualTo(fortress.decoy.capture.Capture.INTERACTION_BYTES_MAX);
    assertThat(captured.getPath()).hasSize(fortress.decoy.capture.Capture.PATH_LENGTH_MAX);
    assertThat(captured.getHeadersCount()).isBetween(1, fortress.decoy.capture.Capture.HEADERS_MAX - 1);
  }

  /** Whether a kept-alive request on {@code s} gets an answer (false: the connection was closed). */
  private static boolean served(Socket s) throws IOException {
    s.setSoTimeout(5_000);
    try {
      s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      byte[] status = new byte[12];
      int n = s.getInputStream().readNBytes(status, 0, 12);
      return n == 12 && new String(status, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 ");
    } catch (java.net.SocketException closed) {
      return false;
    }
  }

  @Test
  void aMalformedOrHugeRequest_isCapturedWithinItsBound() throws Exception {
    // Segments of 9 characters: HTTP.sys (this site's front) refuses a segment over 260.
    StringBuilder request = new StringBuilder("GET /" + "pppppppp/".repeat(334) + "?" + "q".repeat(3000)
        + " HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 40; i++) {
      request.append("X-Filler-").append(i).append(": ").append("\u00e9".repeat(300)).append("\r\n");
    }
    raw(request + "Connection: close\r\n\r\n");
    raw("GARBAGE\r\n\r\n");
    TestCalls.await(() -> decoy.server.interactionsWritten() >= 2, Duration.ofSeconds(10));
    List<Interaction> seen = decoy.stub.listInteractions(ListInteractionsRequest.getDefaultInstance())
        .getInteractionsList();
    Interaction garbage = seen.get(0);
    assertThat(garbage.getStatus()).isEqualTo(400);
    assertThat(garbage.getMethod()).isEmpty();
    assertThat(garbage.getPath()).isEqualTo("GARBAGE");
    Interaction huge = seen.get(1);
    assertThat(huge.getSerializedSize()).isLessThanOrEqualTo(fortress.decoy.capture.Capture.INTERACTION_BYTES_MAX);
    assertThat(huge.getPath()).hasSize(fortress.decoy.capture.Capture.PATH_LENGTH_MAX);
    assertThat(huge.getHeadersCount()).isBetween(1, fortress.decoy.capture.Capture.HEADERS_MAX);
  }

  private String raw(String request) {
    try (Socket s = new Socket("127.0.0.1", decoy.server.httpPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aClientOverItsRate_gets429() throws Exception {
    try (TestDecoy limited = new TestDecoy("--http-rate-per-client-per-second=1", "--http-burst-per-client=5")) {
      int tooMany = 0;
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(limited.http() + "/x")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 429) {
          tooMany++;
        }
      }
      assertThat(tooMany).isGreaterThanOrEqualTo(14);
    }
  }

  @Test
  void everyOneOfAThousandConcurrentRequests_isCaptured() throws Exception {
    List<CompletableFuture<HttpResponse<Void>>> calls = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      calls.add(client.sendAsync(HttpRequest.newBuilder(URI.create(decoy.http() + "/api/v1/users/" + i + "?probe=" + i))
          .header("User-Agent", "scanner/" + (i % 7)).build(), HttpResponse.BodyHandlers.discarding()));
    }
    for (CompletableFuture<HttpResponse<Void>> call : calls) {
      assertThat(call.get().statusCode()).isEqualTo(200);
    }
    TestCalls.await(() -> decoy.server.interactionsWritten() >= 1_000, Duration.ofSeconds(30));
    List<Interaction> all = new ArrayList<>();
    String token = "";
    do {
      ListInteractionsResponse page = decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
          .setPageSize(300).setPageToken(token).build());
      all.addAll(page.getInteractionsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    assertThat(all).hasSize(1_000);
    assertThat(all.stream().map(Interaction::getQuery).distinct()).hasSize(1_000);
    assertThat(decoy.server.interactionsDropped()).isZero();
    Interaction one = all.get(0);
    assertThat(one.getClientIp()).isEqualTo("127.0.0.1");
    assertThat(one.getMethod()).isEqualTo("GET");
    assertThat(one.getPath()).startsWith("/api/v1/users/");
    assertThat(one.getHeadersMap()).containsKey("user-agent");
    assertThat(one.getTemplateId()).isEqualTo("users");
    assertThat(one.getStatus()).isEqualTo(200);
    assertThat(one.getBodySha256()).hasSize(64);
  }

  @Test
  void withACertificate_theDecoyServesItsPagesOverHttps() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("decoy-https");
    java.security.cert.X509Certificate cert = selfSigned(dir);
    try (TestDecoy https = new TestDecoy("--http-tls-cert-file=" + dir.resolve("cert.pem"),
        "--http-tls-key-file=" + dir.resolve("key.pem"))) {
      https.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id()).setTemplate(Template.newBuilder()
          .setTemplateId("tls").setMethod("GET").setPathPattern("/api/v1/users/{id}").setStatus(200)
          .setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API).setSeed(42).setBody(USERS)).build());
      java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("decoy", cert);
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
          javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      HttpClient tlsClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(ssl).build();
      String base = https.http().replace("http://", "https://");

      HttpResponse<String> page = tlsClient.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/users/9"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.headers().firstValue("Server")).hasValue(Pages.NGINX);
      assertThat(page.body()).contains("\"requested\":\"9\"");
      assertThat(catchThrowable(() -> client.send(HttpRequest.newBuilder(URI.create(https.http() + "/api/v1/users/9"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())))
          .as("plain HTTP to the HTTPS listener gets no page").isNotNull();
    }
  }

  /**
   * A self-signed certificate for 127.0.0.1 made with the JDK's keytool, written as PEM (cert.pem,
   * and key.pem in PKCS#8) into {@code dir}.
   */
  private static java.security.cert.X509Certificate selfSigned(java.nio.file.Path dir) throws Exception {
    java.nio.file.Path store = dir.resolve("decoy.p12");
    String keytool = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "decoy", "-keyalg", "EC", "-groupname",
        "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
        "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit")
        .redirectErrorStream(true).start();
    assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes())).isZero();
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    try (var in = java.nio.file.Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    java.security.cert.X509Certificate cert = (java.security.cert.X509Certificate) ks.getCertificate("decoy");
    java.security.Key key = ks.getKey("decoy", "changeit".toCharArray());
    java.util.Base64.Encoder pem = java.util.Base64.getMimeEncoder(64, "\n".getBytes());
    java.nio.file.Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\n"
        + pem.encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
    java.nio.file.Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n"
        + pem.encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    return cert;
  }
}
