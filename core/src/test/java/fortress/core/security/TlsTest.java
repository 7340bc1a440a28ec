package fortress.core.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.core.Settings;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.protobuf.services.HealthStatusManager;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real Netty servers and channels over TLS: certificates and CAs renewed in place reach new
 * connections without a restart, a bad renewal keeps the last good credentials, and the mTLS rules
 * (client certificates required or optional, host names verified) hold throughout.
 */
class TlsTest {
  private static final long RELOAD_INTERVAL_MS = 200;
  /** Long enough for several reloads: what a bad renewal would have broken by then, it has. */
  private static final long SEVERAL_RELOADS_MS = 5 * RELOAD_INTERVAL_MS;
  private static final long RENEWAL_SEEN_WITHIN_MS = 20_000;
  private static final Metadata.Key<String> PEER_NAME = Metadata.Key.of("peer-name", Metadata.ASCII_STRING_MARSHALLER);

  @TempDir
  Path dir;
  private TestCa ca;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void createCa() throws Exception {
    ca = new TestCa("Fortress test CA");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  /** What a client saw on one call over a new connection. */
  private record Seen(BigInteger serverSerial, String clientName) {}

  @Test
  void serverCertificate_renewedInPlace_newConnectionsSeeItWithoutARestart() throws Exception {
    TestCa.Issued a = ca.issue("ledger-1");
    Tls server = serverTls("server", a, ca.caPem(), false);
    int port = start(server);
    Tls client = clientTls("client", null, ca.caPem());
    assertThat(call(client, port).serverSerial()).isEqualTo(a.serial());
    ManagedChannel before = channel(client, port);
    call(before);

    TestCa.Issued b = ca.issue("ledger-1");
    b.write(server.certFile(), server.keyFile());

    assertThat(awaitServerSerial(client, port, b.serial())).isEqualTo(b.serial());
    assertThat(call(before).serverSerial()).as("a connection open before the renewal is not cut").isEqualTo(a.serial());
  }

  @Test
  void serverCertificate_halfWritten_keepsTheLastGoodOneUntilTheWriteCompletes() throws Exception {
    TestCa.Issued a = ca.issue("ledger-1");
    Tls server = serverTls("server", a, ca.caPem(), false);
    int port = start(server);
    Tls client = clientTls("client", null, ca.caPem());
    TestCa.Issued b = ca.issue("ledger-1");

    // Written in place, not atomically: the new key in full, the new certificate only half so far.
    Files.writeString(server.keyFile(), b.keyPem());
    Files.writeString(server.certFile(), b.certPem().substring(0, b.certPem().length() / 2));
    Thread.sleep(SEVERAL_RELOADS_MS);
    assertThat(call(client, port).serverSerial()).as("the half-written renewal is not served").isEqualTo(a.serial());
    // An empty certificate (truncated, not yet written), and the old certificate beside the new key.
    Files.writeString(server.certFile(), "");
    Thread.sleep(SEVERAL_RELOADS_MS);
    assertThat(call(client, port).serverSerial()).isEqualTo(a.serial());
    Files.writeString(server.certFile(), a.certPem());
    Thread.sleep(SEVERAL_RELOADS_MS);
    assertThat(call(client, port).serverSerial()).as("a key that is not the certificate's is not served")
        .isEqualTo(a.serial());

    Files.writeString(server.certFile(), b.certPem());
    assertThat(awaitServerSerial(client, port, b.serial())).isEqualTo(b.serial());
  }

  @Test
  void clientCertificate_renewedInPlace_aServerRequiringCertificatesSeesItOnANewConnection() throws Exception {
    Tls server = serverTls("server", ca.issue("ledger-1"), ca.caPem(), true);
    int port = start(server);
    Tls client = clientTls("client", ca.issue("proxy"), ca.caPem());
    assertThat(call(client, port).clientName()).isEqualTo("proxy");

    TestCa.Issued renewed = ca.issue("proxy-renewed");
    Files.writeString(client.keyFile(), renewed.keyPem().substring(0, 40)); // half-written key
    Thread.sleep(SEVERAL_RELOADS_MS);
    assertThat(call(client, port).clientName()).as("the last good certificate is still presented").isEqualTo("proxy");
    renewed.write(client.certFile(), client.keyFile());

    assertThat(awaitClientName(client, port, "proxy-renewed")).isEqualTo("proxy-renewed");
  }

  @Test
  void caRotation_bundleOfOldAndNewCa_acceptsPeersOfBothAfterReload() throws Exception {
    TestCa next = new TestCa("Fortress test CA 2");
    Tls server = serverTls("server", ca.issue("ledger-1"), ca.caPem(), true);
    int port = start(server);
    Tls oldClient = clientTls("old-client", ca.issue("proxy"), ca.caPem());
    Tls newClient = clientTls("new-client", next.issue("ledger-2"), ca.caPem());
    assertThat(refusal(newClient, port).getStatus().getCode())
        .as("a certificate of a CA not yet trusted is refused").isEqualTo(Status.Code.UNAVAILABLE);

    TestCa.writeAtomically(server.caFile(), ca.caPem() + next.caPem());

    assertThat(awaitClientName(newClient, port, "ledger-2")).isEqualTo("ledger-2");
    assertThat(call(oldClient, port).clientName()).as("the old CA's certificates still pass").isEqualTo("proxy");

    // The server renews under the new CA; a client trusting the bundle follows, one trusting only the old CA cannot.
    TestCa.writeAtomically(newClient.caFile(), ca.caPem() + next.caPem());
    TestCa.Issued renewed = next.issue("ledger-1");
    renewed.write(server.certFile(), server.keyFile());
    assertThat(awaitServerSerial(newClient, port, renewed.serial())).isEqualTo(renewed.serial());
    assertThat(refusal(oldClient, port).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void caRotation_clientChoosingItsCertificateByTheCasTheServerNames_isAcceptedAfterReload() throws Exception {
    TestCa next = new TestCa("Fortress test CA 2");
    Tls server = serverTls("server", ca.issue("ledger-1"), ca.caPem(), true);
    int port = start(server);
    // As grpcurl (Go's crypto/tls) and the JDK's own key managers do: present a certificate only if
    // it is signed by a CA the server names.
    TestCa.Issued issued = next.issue("ledger-2");
    Path certFile = Files.writeString(dir.resolve("picky.pem"), issued.certPem());
    Path keyFile = Files.writeString(dir.resolve("picky.key"), issued.keyPem());
    Path caFile = Files.writeString(dir.resolve("picky-ca.pem"), ca.caPem());
    SslContext picky = GrpcSslContexts.forClient().trustManager(caFile.toFile())
        .keyManager(certFile.toFile(), keyFile.toFile()).build();

    TestCa.writeAtomically(server.caFile(), ca.caPem() + next.caPem());

    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RENEWAL_SEEN_WITHIN_MS);
    String name = null;
    while (name == null && System.nanoTime() < deadline) {
      ManagedChannel channel = NettyChannelBuilder.forTarget("localhost:" + port).sslContext(picky).build();
      try {
        name = call(channel).clientName();
      } catch (StatusRuntimeException e) {
        Thread.sleep(RELOAD_INTERVAL_MS / 2);
      } finally {
        channel.shutdownNow();
      }
    }
    assertThat(name).isEqualTo("ledger-2");
  }

  @Test
  void clientAuthRequired_clientWithoutCertificate_isRefused() throws Exception {
    int port = start(serverTls("server", ca.issue("ledger-1"), ca.caPem(), true));

    assertThat(refusal(clientTls("anonymous", null, ca.caPem()), port).getStatus().getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(call(clientTls("client", ca.issue("proxy"), ca.caPem()), port).clientName()).isEqualTo("proxy");
  }

  @Test
  void clientAuthOptional_clientWithoutCertificate_isServedWithoutAName() throws Exception {
    int port = start(serverTls("server", ca.issue("ledger-1"), ca.caPem(), false));

    assertThat(call(clientTls("anonymous", null, ca.caPem()), port).clientName()).isEmpty();
    assertThat(call(clientTls("client", ca.issue("proxy"), ca.caPem()), port).clientName()).isEqualTo("proxy");
  }

  @Test
  void serverCertificate_forAnotherHost_isRefusedUntilRenewedForThisOne() throws Exception {
    Tls server = serverTls("server", ca.issue("ledger-1", "elsewhere.invalid"), ca.caPem(), false);
    int port = start(server);
    Tls client = clientTls("client", null, ca.caPem());
    assertThat(refusal(client, port).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);

    TestCa.Issued renewed = ca.issue("ledger-1", "localhost");
    renewed.write(server.certFile(), server.keyFile());

    assertThat(awaitServerSerial(client, port, renewed.serial())).isEqualTo(renewed.serial());
  }

  @Test
  void read_reloadInterval_defaultsToAMinuteAndIsBounded() throws Exception {
    Path caFile = Files.writeString(dir.resolve("ca.pem"), ca.caPem());

    assertThat(Settings.parse(new String[] {"--tls-ca-file=" + caFile}, Map.of(), Tls::read).reloadIntervalMs())
        .isEqualTo(60_000);
    assertThat(Settings.parse(new String[] {"--tls-ca-file=" + caFile, "--tls-reload-interval-ms=5000"}, Map.of(),
        Tls::read).reloadIntervalMs()).isEqualTo(5_000);
    assertThatThrownBy(() -> Settings.parse(new String[] {"--tls-ca-file=" + caFile,
        "--tls-reload-interval-ms=10"}, Map.of(), Tls::read)).hasMessageContaining("--tls-reload-interval-ms=10");
  }

  private Tls serverTls(String name, TestCa.Issued identity, String caPem, boolean requireClientCert)
      throws Exception {
    return tls(name, identity, caPem, requireClientCert);
  }

  private Tls clientTls(String name, TestCa.Issued identity, String caPem) throws Exception {
    return tls(name, identity, caPem, false);
  }

  private Tls tls(String name, TestCa.Issued identity, String caPem, boolean requireClientCert) throws Exception {
    Path certFile = identity == null ? null : Files.writeString(dir.resolve(name + ".pem"), identity.certPem());
    Path keyFile = identity == null ? null : Files.writeString(dir.resolve(name + ".key"), identity.keyPem());
    Path caFile = Files.writeString(dir.resolve(name + "-ca.pem"), caPem);
    Tls tls = new Tls(certFile, keyFile, caFile, requireClientCert, RELOAD_INTERVAL_MS);
    open.add(tls);
    return tls;
  }

  /** Starts a server with the health service, answering each call with the client's certificate name. */
  private int start(Tls tls) throws Exception {
    Server server = tls.applyTo(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)))
        .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), new PeerNameHeader()))
        .build().start();
    open.add(() -> server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
    return server.getPort();
  }

  private ManagedChannel channel(Tls tls, int port) {
    ManagedChannel channel = tls.channel("localhost:" + port).build();
    open.add(() -> channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
    return channel;
  }

  /** One call over a new connection. */
  private Seen call(Tls tls, int port) {
    ManagedChannel channel = tls.channel("localhost:" + port).build();
    try {
      return call(channel);
    } finally {
      channel.shutdownNow();
    }
  }

  private StatusRuntimeException refusal(Tls tls, int port) {
    try {
      Seen seen = call(tls, port);
      throw new AssertionError("expected the connection to be refused, but it was served: " + seen);
    } catch (StatusRuntimeException e) {
      return e;
    }
  }

  /** The server certificate's serial a new connection sees, once it is {@code expected} or time is up. */
  private BigInteger awaitServerSerial(Tls tls, int port, BigInteger expected) throws InterruptedException {
    return await(tls, port, seen -> seen == null ? null : seen.serverSerial(), expected);
  }

  /** The client certificate's name the server sees on a new connection, once it is {@code expected} or time is up. */
  private String awaitClientName(Tls tls, int port, String expected) throws InterruptedException {
    return await(tls, port, seen -> seen == null ? null : seen.clientName(), expected);
  }

  /** Calls over new connections, a refused one seen as null, until {@code what} it saw is {@code expected}. */
  private <T> T await(Tls tls, int port, Function<Seen, T> what, T expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RENEWAL_SEEN_WITHIN_MS);
    T seen = what.apply(callOrRefused(tls, port));
    while (!expected.equals(seen) && System.nanoTime() < deadline) {
      Thread.sleep(RELOAD_INTERVAL_MS / 2);
      seen = what.apply(callOrRefused(tls, port));
    }
    return seen;
  }

  private Seen callOrRefused(Tls tls, int port) {
    try {
      return call(tls, port);
    } catch (StatusRuntimeException e) {
      return null;
    }
  }

  /** A health check, noting the serial of the certificate the server presented and the name it saw. */
  private static Seen call(ManagedChannel channel) {
    AtomicReference<BigInteger> serverSerial = new AtomicReference<>();
    AtomicReference<String> clientName = new AtomicReference<>();
    ClientInterceptor observe = new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(method, options);
        return new SimpleForwardingClientCall<>(call) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            super.start(new SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onHeaders(Metadata received) {
                serverSerial.set(leafSerial(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
                clientName.set(received.get(PEER_NAME));
                super.onHeaders(received);
              }
            }, headers);
          }
        };
      }
    };
    HealthGrpc.newBlockingStub(ClientInterceptors.intercept(channel, observe)).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance());
    return new Seen(serverSerial.get(), clientName.get());
  }

  private static BigInteger leafSerial(SSLSession session) {
    try {
      return ((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber();
    } catch (SSLPeerUnverifiedException e) {
      throw new AssertionError("the server presented no certificate", e);
    }
  }

  /** Sends back, in a response header, the name {@link Tls#peerName} gives the caller (empty without one). */
  private static final class PeerNameHeader implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      return next.startCall(new SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata responseHeaders) {
          responseHeaders.put(PEER_NAME, Tls.peerName(call).orElse(""));
          super.sendHeaders(responseHeaders);
        }
      }, headers);
    }
  }
}
