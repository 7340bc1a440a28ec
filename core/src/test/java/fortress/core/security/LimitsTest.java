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
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
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
    return new Limits(64, 8, 32, 64 << 10, 8 << 10, idleMs, handshakeMs, 60_000, 20_000, 10_000, 16);
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
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
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
  void aFloodOfAnonymousWatchStreams_holdsAtMostTheCap_andTheServerStillAnswersChecksAndTenants() throws Exception {
    int port = start(SMALL);
    AtomicInteger watching = new AtomicInteger();
    ConcurrentLinkedQueue<Status> refusals = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<ClientCallStreamObserver<HealthCheckRequest>> calls = new ConcurrentLinkedQueue<>();
    int attempts = 2_000;
    for (int c = 0; c < 4; c++) {
      HealthGrpc.HealthStub stub = HealthGrpc.newStub(channel(port));
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
    StatusRuntimeException one = refused(() -> HealthGrpc.newBlockingStub(channel(port)).watch(
        HealthCheckRequest.getDefaultInstance()).next());
    assertThat(info(one).getReason()).isEqualTo(ErrorReason.PUBLIC_CALLS_EXHAUSTED.name());
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
