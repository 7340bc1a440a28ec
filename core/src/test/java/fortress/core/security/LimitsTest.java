package fortress.core.security;

import static fortress.core.rpc.TestCalls.await;
import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.auth.v1.ErrorReason;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetAccountResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real Netty listener with {@link Limits}, attacked the way an anonymous caller would: floods
 * of health Watch streams, too many connections, silent connections, oversized messages and
 * headers. Throughout, a tenant with a token is still served.
 */
class LimitsTest {
  private static final ECKey KEY = Tokens.newSigningKey();
  private static final Limits SMALL = limits(60_000, 10_000);
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  private final AtomicInteger served = new AtomicInteger();

  private final class Ledger extends LedgerServiceGrpc.LedgerServiceImplBase {
    @Override
    public void getAccount(GetAccountRequest r, StreamObserver<GetAccountResponse> out) {
      served.incrementAndGet();
      out.onNext(GetAccountResponse.newBuilder().setAccount(Account.newBuilder().setTenantId(r.getTenantId())
          .setAccountId(r.getAccountId()).setBalance(7)).build());
      out.onCompleted();
    }
  }

  private static Limits limits(long idleMs, long handshakeMs) {
    return new Limits(64, 8, 32, 64 << 10, 8 << 10, idleMs, handshakeMs, 60_000, 20_000, 10_000, 16, 100);
  }

  private int start(Limits limits) throws Exception {
    Tokens tokens = Tokens.of(new JWKSet(KEY.toPublicJWK()), null, Tokens.Policy.LEDGER.audience());
    Security security = new Security(Tls.OFF, tokens, null, List.of(), limits);
    HealthStatusManager health = new HealthStatusManager();
    server = security.server("127.0.0.1", 0)
        .intercept(security.guard(Guard.Members.OFF).allow(LedgerServiceGrpc.SERVICE_NAME, Guard.Rule.TENANT).build())
        .addService(new Ledger())
        .addService(health.getHealthService())
        .build().start();
    return server.getPort();
  }

  private ManagedChannel channel(int port) {
    return channel(port, "127.0.0.1");
  }

  /** A channel whose connections come from {@code source}, a loopback address of this machine. */
  private ManagedChannel channel(int port, String source) {
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
          @Override
          public SocketAddress createSocketAddress(SocketAddress remote, io.grpc.Attributes attributes) {
            return new InetSocketAddress(source, 0);
          }
        }).build();
    channels.add(c);
    return c;
  }

  private GetAccountResponse tenantRead(int port) {
    String token = Tokens.sign(KEY, "t", "acme", List.of(), List.of(Tokens.Policy.LEDGER.audience()),
        Duration.ofMinutes(5));
    return LedgerServiceGrpc.newBlockingStub(channel(port)).withInterceptors(Security.bearer(token))
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .getAccount(GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("main").build());
  }

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aFloodOfAnonymousWatchStreams_holdsAtMostTheCapAndAQuarterPerAddress_andTheServerStillAnswers()
      throws Exception {
    int port = start(SMALL);
    AtomicInteger watching = new AtomicInteger();
    ConcurrentLinkedQueue<Status> refusals = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<ClientCallStreamObserver<HealthCheckRequest>> calls = new ConcurrentLinkedQueue<>();
    int attempts = 2_000;
    for (int c = 1; c <= 4; c++) {
      HealthGrpc.HealthStub stub = HealthGrpc.newStub(channel(port, "127.0.0." + c));
      for (int i = 0; i < attempts / 4; i++) {
        stub.watch(HealthCheckRequest.getDefaultInstance(), new ClientResponseObserver<HealthCheckRequest,
            HealthCheckResponse>() {
          private boolean counted;

          @Override
          public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> call) {
            calls.add(call);
          }

          @Override
          public void onNext(HealthCheckResponse r) {
            if (!counted) {
              counted = true;
              watching.incrementAndGet();
            }
          }

          @Override
          public void onError(Throwable t) {
            refusals.add(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {}
        });
      }
    }
    await(() -> watching.get() + refusals.size() >= attempts, Duration.ofSeconds(60));

    assertThat(watching.get()).as("streams the server holds").isEqualTo(SMALL.publicCallsMax());
    assertThat(refusals).hasSize(attempts - SMALL.publicCallsMax())
        .allMatch(s -> s.getCode() == Status.Code.RESOURCE_EXHAUSTED);
    StatusRuntimeException one = refused(() -> HealthGrpc.newBlockingStub(channel(port, "127.0.0.5")).watch(
        HealthCheckRequest.getDefaultInstance()).next());
    assertThat(info(one).getReason()).as("a fifth address, once all are held")
        .isEqualTo(ErrorReason.PUBLIC_CALLS_EXHAUSTED.name());
    assertThat(HealthGrpc.newBlockingStub(channel(port)).check(HealthCheckRequest.getDefaultInstance()).getStatus())
        .as("a probe's unary Check is not held to the streaming cap").isEqualTo(ServingStatus.SERVING);
    assertThat(tenantRead(port).getAccount().getBalance()).isEqualTo(7);

    calls.forEach(c -> c.cancel("leaving", null));
    await(() -> {
      try {
        return HealthGrpc.newBlockingStub(channel(port)).withDeadlineAfter(2, TimeUnit.SECONDS)
            .watch(HealthCheckRequest.getDefaultInstance()).next().getStatus() == ServingStatus.SERVING;
      } catch (StatusRuntimeException e) {
        return false;
      }
    }, Duration.ofSeconds(10));
  }

  @Test
  void connectionsBeyondThePerAddressCap_areClosedAtOnce_andAClosedOneFreesItsPlace() throws Exception {
    int port = start(SMALL);
    List<Socket> held = new ArrayList<>();
    for (int i = 0; i < SMALL.connectionsPerAddressMax(); i++) {
      held.add(connect(port));
    }
    for (Socket s : held) {
      assertThat(closedByServer(s)).as("a connection within the cap").isFalse();
    }
    try (Socket extra = connect(port)) {
      assertThat(closedByServer(extra)).as("a connection over the cap").isTrue();
    }
    StatusRuntimeException refused = refused(() -> tenantRead(port));
    assertThat(refused.getStatus().getCode()).as("a gRPC client over the cap").isEqualTo(Status.Code.UNAVAILABLE);

    held.remove(0).close();
    await(() -> {
      try (Socket again = connect(port)) {
        return !closedByServer(again);
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(10));
    for (Socket s : held) {
      s.close();
    }
    await(() -> {
      try {
        return tenantRead(port).getAccount().getBalance() == 7;
      } catch (StatusRuntimeException e) {
        return false;
      }
    }, Duration.ofSeconds(10));
  }

  @Test
  void aConnectionThatNeverCompletesItsHandshake_isClosedAfterTheHandshakeLimit() throws Exception {
    int port = start(limits(60_000, 1_000));
    long started = System.nanoTime();
    try (Socket silent = connect(port)) {
      silent.setSoTimeout(15_000);
      InputStream in = silent.getInputStream();
      while (in.read() >= 0) {
        // whatever the server sends, until it closes the connection
      }
    }
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void anOversizedMessageOrHeaderBlock_isRefusedBeforeAnyServiceSeesIt() throws Exception {
    int port = start(SMALL);
    String token = Tokens.sign(KEY, "t", "acme", List.of(), List.of(Tokens.Policy.LEDGER.audience()),
        Duration.ofMinutes(5));
    LedgerServiceGrpc.LedgerServiceBlockingStub stub = LedgerServiceGrpc.newBlockingStub(channel(port))
        .withInterceptors(Security.bearer(token));

    StatusRuntimeException big = refused(() -> stub.getAccount(GetAccountRequest.newBuilder().setTenantId("acme")
        .setAccountId("x".repeat(SMALL.messageBytesMax() + 1)).build()));
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-padding", Metadata.ASCII_STRING_MARSHALLER), "p".repeat(SMALL.headerBytesMax()));
    // An oversized header block is refused at the HTTP/2 layer, which the client reports as an
    // INTERNAL "http2 exception"; no service code runs.
    StatusRuntimeException tall = catchThrowableOfType(StatusRuntimeException.class, () -> stub
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .getAccount(GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("main").build()));

    assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(tall).as("an oversized header block").isNotNull();
    assertThat(served).as("calls the service saw").hasValue(0);
    assertThat(tenantRead(port).getAccount().getBalance()).isEqualTo(7);
  }

  @Test
  void oneAddressFloodingWatchStreams_holdsAQuarterOfThePublicCap() throws Exception {
    int port = start(SMALL);
    HealthGrpc.HealthStub stub = HealthGrpc.newStub(channel(port, "127.0.0.7"));
    AtomicInteger watching = new AtomicInteger();
    AtomicInteger refusals = new AtomicInteger();
    for (int i = 0; i < 100; i++) {
      stub.watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
        private boolean counted;

        @Override
        public void onNext(HealthCheckResponse r) {
          if (!counted) {
            counted = true;
            watching.incrementAndGet();
          }
        }

        @Override
        public void onError(Throwable t) {
          refusals.incrementAndGet();
        }

        @Override
        public void onCompleted() {}
      });
    }
    await(() -> watching.get() + refusals.get() >= 100, Duration.ofSeconds(30));

    assertThat(watching.get()).isEqualTo(SMALL.publicCallsMax() / 4);
    assertThat(HealthGrpc.newBlockingStub(channel(port, "127.0.0.8")).withDeadlineAfter(5, TimeUnit.SECONDS)
        .watch(HealthCheckRequest.getDefaultInstance()).next().getStatus())
        .as("another address still gets a stream").isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void anHttp2RapidReset_closesThatConnection_andTheServerStillAnswersTenants() throws Exception {
    int port = start(SMALL);
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    boolean closedByServer = false;
    try (Socket s = connect(port)) {
      s.setSoTimeout(10_000);
      OutputStream out = new BufferedOutputStream(s.getOutputStream());
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(frame(0x4, 0, 0, new byte[0]));
      byte[] headers = anonymousCall("/fortress.ledger.v1.LedgerService/GetAccount");
      try {
        for (int stream = 1; stream < 20_000; stream += 2) {
          out.write(frame(0x1, 0x4, stream, headers));
          out.write(frame(0x3, 0, stream, new byte[] {0, 0, 0, 8}));
        }
        out.flush();
      } catch (IOException refusedMidway) {
        // the server closed the connection while the attack was still being written
      }
      try {
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          received.write(buffer, 0, n);
        }
        closedByServer = true;
      } catch (java.net.SocketException reset) {
        closedByServer = true;
      } catch (SocketTimeoutException stillOpen) {
        closedByServer = false;
      }
    }

    assertThat(closedByServer).as("the connection was closed").isTrue();
    assertThat(goAwayCodes(received.toByteArray())).as("GOAWAY ENHANCE_YOUR_CALM").contains(0xb);
    assertThat(tenantRead(port).getAccount().getBalance()).isEqualTo(7);
  }

  /** One HTTP/2 frame. */
  private static byte[] frame(int type, int flags, int stream, byte[] payload) {
    ByteBuffer f = ByteBuffer.allocate(9 + payload.length);
    f.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
    f.put((byte) type).put((byte) flags).putInt(stream).put(payload);
    return f.array();
  }

  /** An HPACK header block for a gRPC call without a token, using literals that add nothing to the table. */
  private static byte[] anonymousCall(String path) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(0x83); // :method POST
    b.write(0x86); // :scheme http
    literal(b, 0x04, path); // :path
    literal(b, 0x01, "localhost"); // :authority
    b.write(0x0f);
    b.write(0x10); // content-type (static index 31)
    string(b, "application/grpc");
    b.write(0x00);
    string(b, "te");
    string(b, "trailers");
    return b.toByteArray();
  }

  private static void literal(ByteArrayOutputStream b, int nameIndex, String value) {
    b.write(nameIndex);
    string(b, value);
  }

  private static void string(ByteArrayOutputStream b, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
    b.write(bytes.length);
    b.write(bytes, 0, bytes.length);
  }

  /** The error codes of the GOAWAY frames in what the server sent. */
  private static List<Integer> goAwayCodes(byte[] bytes) {
    List<Integer> codes = new ArrayList<>();
    ByteBuffer in = ByteBuffer.wrap(bytes);
    while (in.remaining() >= 9) {
      int length = ((in.get() & 0xff) << 16) | ((in.get() & 0xff) << 8) | (in.get() & 0xff);
      int type = in.get() & 0xff;
      in.get();
      in.getInt();
      if (in.remaining() < length) {
        break;
      }
      if (type == 0x7 && length >= 8) {
        in.getInt();
        codes.add(in.getInt());
        in.position(in.position() + length - 8);
      } else {
        in.position(in.position() + length);
      }
    }
    return codes;
  }

  @Test
  void anIpv6ClientIsCountedByItsSlash64_andAnIpv4ClientByItsAddress() throws Exception {
    assertThat(Limits.client(java.net.InetAddress.getByName("2001:db8:1:2:aaaa::1")))
        .isEqualTo(Limits.client(java.net.InetAddress.getByName("2001:db8:1:2:ffff:eeee:dddd:cccc")))
        .isNotEqualTo(Limits.client(java.net.InetAddress.getByName("2001:db8:1:3::1")));
    assertThat(Limits.client(java.net.InetAddress.getByName("203.0.113.7")))
        .isEqualTo(java.net.InetAddress.getByName("203.0.113.7"))
        .isNotEqualTo(Limits.client(java.net.InetAddress.getByName("203.0.113.8")));
  }

  private static Socket connect(int port) throws Exception {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    return s;
  }

  /** Whether the server closes this connection within a second without being sent anything. */
  private static boolean closedByServer(Socket s) throws Exception {
    s.setSoTimeout(1_000);
    InputStream in = s.getInputStream();
    try {
      byte[] buffer = new byte[4096];
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      while (System.nanoTime() < deadline) {
        if (in.read(buffer) < 0) {
          return true;
        }
      }
      return false;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (java.net.SocketException e) {
      return true;
    }
  }
}
