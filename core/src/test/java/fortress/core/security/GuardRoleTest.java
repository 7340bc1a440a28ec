package fortress.core.security;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.auth.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetAccountResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A method that needs a role: the role, or admin, gets in; any other token is refused naming the role. */
class GuardRoleTest {
  private static final ECKey KEY = Tokens.newSigningKey();
  private final AtomicInteger served = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  private LedgerServiceGrpc.LedgerServiceBlockingStub start() throws Exception {
    Guard guard = Guard.builder(Tokens.of(new JWKSet(KEY.toPublicJWK()), null, "fortress-ledger"), Guard.Members.OFF)
        .allowRole(List.of(LedgerServiceGrpc.getGetAccountMethod().getFullMethodName()), "ledger.read")
        .build();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().intercept(guard)
        .addService(new LedgerServiceGrpc.LedgerServiceImplBase() {
          @Override
          public void getAccount(GetAccountRequest r, StreamObserver<GetAccountResponse> out) {
            served.incrementAndGet();
            out.onNext(GetAccountResponse.getDefaultInstance());
            out.onCompleted();
          }
        }).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return LedgerServiceGrpc.newBlockingStub(channel);
  }

  private static String token(String... roles) {
    return Tokens.sign(KEY, "t", "acme", List.of(roles), List.of("fortress-ledger"), Duration.ofMinutes(5));
  }

  @Test
  void theRoleOrAdmin_isLetIn_andAnyOtherTokenIsRefusedNamingTheRole() throws Exception {
    LedgerServiceGrpc.LedgerServiceBlockingStub stub = start();
    GetAccountRequest read = GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("a").build();

    stub.withInterceptors(Security.bearer(token("ledger.read"))).getAccount(read);
    stub.withInterceptors(Security.bearer(token("admin"))).getAccount(read);
    StatusRuntimeException other = refused(() -> stub.withInterceptors(Security.bearer(token("ledger.write")))
        .getAccount(read));
    StatusRuntimeException none = refused(() -> stub.getAccount(read));

    assertThat(served).hasValue(2);
    assertThat(info(other).getReason()).isEqualTo(ErrorReason.ROLE_REQUIRED.name());
    assertThat(info(other).getMetadataMap()).containsEntry("role", "ledger.read");
    assertThat(info(none).getReason()).isEqualTo(ErrorReason.TOKEN_MISSING.name());
  }

  @Test
  void twoAuthorizationHeaders_areRefused_whicheverComesFirst() throws Exception {
    LedgerServiceGrpc.LedgerServiceBlockingStub stub = start();
    GetAccountRequest read = GetAccountRequest.newBuilder().setTenantId("acme").setAccountId("a").build();
    for (List<String> order : List.of(List.of("Bearer garbage", "Bearer " + token("admin")),
        List.of("Bearer " + token("admin"), "Bearer garbage"))) {
      io.grpc.Metadata headers = new io.grpc.Metadata();
      order.forEach(h -> headers.put(Guard.AUTHORIZATION, h));

      StatusRuntimeException twice = refused(() -> stub.withInterceptors(
          io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers)).getAccount(read));

      assertThat(info(twice).getReason()).isEqualTo(ErrorReason.TOKEN_INVALID.name());
    }
    assertThat(served).hasValue(0);
  }
}
