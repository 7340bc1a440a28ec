package fortress.decoy.http;

import fortress.core.rpc.TestCalls;
import static fortress.decoy.TestDecoy.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import fortress.decoy.TestDecoy;
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
        "--http-request-bytes-max=4096", "--http-headers-max=20");
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
    assertThat(first.headers().firstValue("server")).contains("nginx");
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
    assertThat(api.headers().firstValue("server")).contains("nginx");
    assertThat(api.body()).isEqualTo("{\"error\":{\"code\":404,\"message\":\"Not Found\"}}\n");
    HttpResponse<String> site = get("/wp-login.php");
    assertThat(site.statusCode()).isEqualTo(404);
    assertThat(site.headers().firstValue("server")).contains("Microsoft-IIS/10.0");
    assertThat(site.body()).contains("404 - Not Found");
    nothingLeaks(api.headers().map() + api.body() + site.headers().map() + site.body());
  }

  @Test
  void oversizedAndMalformedRequests_getACleanFourHundred_andNothingLeaks() throws Exception {
    HttpResponse<String> big = client.send(HttpRequest.newBuilder(URI.create(decoy.http() + "/api/v1/users/1"))
        .POST(HttpRequest.BodyPublishers.ofString("x".repeat(10_000))).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(big.statusCode()).isEqualTo(413);
    nothingLeaks(big.headers().map() + big.body());

    List<String> many = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      many.add("X-Probe-" + i);
      many.add("v");
    }
    HttpResponse<String> headers = get("/api/v1/users/1", many.toArray(String[]::new));
    assertThat(headers.statusCode()).isEqualTo(431);

    String garbage = raw("GARBAGE\r\n\r\n");
    assertThat(garbage).startsWith("HTTP/1.1 400 Bad Request");
    nothingLeaks(garbage);
    String longLine = raw("GET /" + "a".repeat(8_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(longLine).startsWith("HTTP/1.1 414");
    nothingLeaks(longLine);
    String hugeHeader = raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(10_000) + "\r\n\r\n");
    assertThat(hugeHeader).startsWith("HTTP/1.1 431");
    nothingLeaks(hugeHeader);

    assertThat(get("/api/v1/users/2").statusCode()).as("the listener still serves").isEqualTo(200);
  }

  @Test
  void headersAreWrittenAsNginxWritesThem() throws Exception {
    String response = raw("GET /api/v1/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 404 Not Found\r\nServer: nginx\r\nDate: ")
        .contains("\r\nContent-Type: application/json\r\n").contains("\r\nConnection: close\r\n")
        .endsWith("\r\n\r\n{\"error\":{\"code\":404,\"message\":\"Not Found\"}}\n");
  }

  private String raw(String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", decoy.server.httpPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
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
      assertThat(page.headers().firstValue("Server")).hasValue("nginx");
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
