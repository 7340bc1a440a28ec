package fortress.core.security;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.auth.v1.ErrorReason;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetAccountResponse;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import fortress.ledger.v1.VerifyJournalResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The guard in front of a real (in-process) gRPC service, called through real stubs. */
class GuardTest {
  private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();
  private static final byte[] NODE_TOKEN = "node-token-node-token-node-token".getBytes();
  private final AtomicInteger served = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;

  /** Answers every call it is let through, and counts them. */
  private final class Ledger extends LedgerServiceGrpc.LedgerServiceImplBase {
    @Override
    public void getAccount(GetAccountRequest r, StreamObserver<GetAccountResponse> out) {
      served.incrementAndGet();
      out.onNext(GetAccountResponse.newBuilder().setAccount(Account.newBuilder().setTenantId(r.getTenantId())
          .setAccountId(r.getAccountId())).build());
      out.onCompleted();
    }

    @Override
    public void submitBatch(SubmitBatchRequest r, StreamObserver<SubmitBatchResponse> out) {
      served.incrementAndGet();
      out.onNext(SubmitBatchResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void verifyJournal(VerifyJournalRequest r, StreamObserver<VerifyJournalResponse> out) {
      served.incrementAndGet();
      out.onNext(VerifyJournalResponse.newBuilder().setOk(true).build());
      out.onCompleted();
    }
  }

  private LedgerServiceGrpc.LedgerServiceBlockingStub start(Guard guard) throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(new Ledger()).intercept(guard)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return LedgerServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  private static Tokens tokens() {
    return Tokens.of(new com.nimbusds.jose.jwk.JWKSet(new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(KEY)
        .algorithm(com.nimbusds.jose.JWSAlgorithm.HS256).build()), null, "fortress-ledger");
  }

  private static String token(String tenant, String... roles) {
    return Tokens.hs256(KEY, "t", tenant, List.of(roles), List.of("fortress-ledger"), Duration.ofMinutes(5));
  }

  private static Guard tenantGuard() {
    return Guard.builder(tokens(), Guard.Members.OFF)
        .allow(LedgerServiceGrpc.SERVICE_NAME, Guard.Rule.TENANT)
        .build();
  }

  private static GetAccountRequest read(String tenant) {
    return GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId("main").build();
  }

  private static String reason(StatusRuntimeException e) {
    return info(e).getReason();
  }

  @Test
  void aTenantToken_reachesItsOwnTenant_only() throws Exception {
    var stub = start(tenantGuard());
    var acme = stub.withInterceptors(Security.bearer(token("acme")));

    assertThat(acme.getAccount(read("acme")).getAccount().getTenantId()).isEqualTo("acme");
    StatusRuntimeException other = refused(() -> acme.getAccount(read("globex")));
    assertThat(other.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(reason(other)).isEqualTo("TENANT_FORBIDDEN");
    assertThat(info(other).getMetadataMap()).containsEntry("field", "tenant_id");

    SubmitBatchRequest nested = SubmitBatchRequest.newBuilder()
        .addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setTenantId("acme")))
        .addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setTenantId("globex")))
        .build();
    assertThat(reason(refused(() -> acme.submitBatch(nested)))).isEqualTo("TENANT_FORBIDDEN");
    assertThat(reason(refused(() -> stub.withInterceptors(Security.bearer(token(null, "admin")))
        .getAccount(read("acme"))))).isEqualTo("TENANT_REQUIRED");
    assertThat(served).as("only the one allowed call reached the service").hasValue(1);
  }

  @Test
  void missingAndMalformedCredentials_areUnauthenticated() throws Exception {
    var stub = start(tenantGuard());
    Metadata basic = new Metadata();
    basic.put(Guard.AUTHORIZATION, "Basic dXNlcjpwYXNz");

    StatusRuntimeException missing = refused(() -> stub.getAccount(read("acme")));
    assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(reason(missing)).isEqualTo("TOKEN_MISSING");
    assertThat(info(missing).getDomain()).isEqualTo("auth.fortress.dev");
    assertThat(reason(refused(() -> stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(basic))
        .getAccount(read("acme"))))).isEqualTo("TOKEN_INVALID");
    assertThat(reason(refused(() -> stub.withInterceptors(Security.bearer("x.y.z")).getAccount(read("acme")))))
        .isEqualTo("TOKEN_INVALID");
    assertThat(served).hasValue(0);
  }

  @Test
  void anUnlistedMethod_needsTheAdminRole_andAListedOneItsOwnRule() throws Exception {
    var stub = start(Guard.builder(tokens(), Guard.Members.OFF)
        .allow(LedgerServiceGrpc.getGetAccountMethod().getFullMethodName(), Guard.Rule.CALLER).build());

    assertThat(stub.withInterceptors(Security.bearer(token("acme"))).getAccount(read("globex"))).isNotNull();
    assertThat(reason(refused(() -> stub.withInterceptors(Security.bearer(token("acme")))
        .verifyJournal(VerifyJournalRequest.getDefaultInstance())))).isEqualTo("ADMIN_REQUIRED");
    assertThat(stub.withInterceptors(Security.bearer(token(null, "admin")))
        .verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
  }

  private static Metadata nodeToken(byte[] token) {
    Metadata headers = new Metadata();
    headers.put(Guard.NODE_TOKEN, Base64.getEncoder().encodeToString(token));
    return headers;
  }

  @Test
  void memberCalls_needAMembersOwnToken_andNodeCallsANodes() throws Exception {
    byte[] proxyToken = "proxy-token-proxy-token-proxy-to".getBytes();
    Guard.Members members = new Guard.Members(List.of(new Guard.Members.Token("ledger-1", Guard.sha256(NODE_TOKEN)),
        new Guard.Members.Token("proxy", Guard.sha256(proxyToken))), false, () -> Set.of("ledger-1"), "proxy");
    var stub = start(Guard.builder(Tokens.OFF, members)
        .allow(LedgerServiceGrpc.getGetAccountMethod().getFullMethodName(), Guard.Rule.MEMBER)
        .allow(LedgerServiceGrpc.getVerifyJournalMethod().getFullMethodName(), Guard.Rule.NODE).build());

    assertThat(stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(nodeToken(NODE_TOKEN)))
        .getAccount(read("a"))).isNotNull();
    assertThat(stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(nodeToken(proxyToken)))
        .getAccount(read("a"))).isNotNull();
    assertThat(stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(nodeToken(NODE_TOKEN)))
        .verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    StatusRuntimeException proxyAsNode = refused(() -> stub.withInterceptors(
        MetadataUtils.newAttachHeadersInterceptor(nodeToken(proxyToken)))
        .verifyJournal(VerifyJournalRequest.getDefaultInstance()));
    assertThat(proxyAsNode.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(reason(proxyAsNode)).isEqualTo("PEER_FORBIDDEN");
    StatusRuntimeException stranger = refused(() -> stub.withInterceptors(
        MetadataUtils.newAttachHeadersInterceptor(nodeToken(KEY))).getAccount(read("a")));
    assertThat(stranger.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(reason(stranger)).isEqualTo("TOKEN_INVALID");
    StatusRuntimeException anonymous = refused(() -> stub.getAccount(read("")));
    assertThat(anonymous.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(reason(anonymous)).isEqualTo("TOKEN_MISSING");
    assertThat(reason(refused(() -> stub.withInterceptors(Security.bearer(token("acme", "admin")))
        .getAccount(read("a"))))).as("a tenant's token is no node credential").isEqualTo("TOKEN_MISSING");
    assertThat(served).hasValue(3);
  }

  @Test
  void underMtls_aNodeToken_isNoSubstituteForACertificate() throws Exception {
    Guard.Members members = new Guard.Members(List.of(new Guard.Members.Token("ledger-1", Guard.sha256(NODE_TOKEN))),
        true, () -> Set.of("ledger-1"), "proxy");
    var stub = start(Guard.builder(Tokens.OFF, members)
        .allow(LedgerServiceGrpc.SERVICE_NAME, Guard.Rule.NODE).build());

    // In-process calls carry no certificate: the node token alone is not accepted.
    StatusRuntimeException e = refused(() -> stub.withInterceptors(
        MetadataUtils.newAttachHeadersInterceptor(nodeToken(NODE_TOKEN))).getAccount(read("a")));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(reason(e)).isEqualTo("TOKEN_MISSING");
    assertThat(served).hasValue(0);
  }

  @Test
  void memberTokensFile_namesEachMembersHash_andRefusesMalformedLines() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("members", ".txt");
    String hash = Security.memberTokenHash(NODE_TOKEN);
    java.nio.file.Files.writeString(file, "# cluster members\n\nledger-1 " + hash + "  # the first node\n");
    Security read = fortress.core.Settings.parse(new String[] {"--member-tokens-file=" + file}, java.util.Map.of(),
        s -> Security.read(s, null, true).verifyingMembers(s));
    assertThat(read.memberTokens()).singleElement().satisfies(t -> {
      assertThat(t.name()).isEqualTo("ledger-1");
      assertThat(java.util.HexFormat.of().formatHex(t.sha256())).isEqualTo(hash);
    });

    java.nio.file.Files.writeString(file, "ledger-1 " + hash + "\nledger-2 " + hash + "\nproxy nothex\n");
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> fortress.core.Settings.parse(
        new String[] {"--member-tokens-file=" + file}, java.util.Map.of(),
        s -> Security.read(s, null, true).verifyingMembers(s))))
        .hasMessageContaining("line 2 repeats").hasMessageContaining("line 3 must read");
    java.nio.file.Files.delete(file);
  }

  @Test
  void withNoKeysAndNoNodeToken_everyCallIsLetThrough() throws Exception {
    var stub = start(Guard.builder(Tokens.OFF, Guard.Members.OFF)
        .allow(LedgerServiceGrpc.SERVICE_NAME, Guard.Rule.TENANT).build());

    assertThat(stub.getAccount(read("anyone")).getAccount().getTenantId()).isEqualTo("anyone");
    assertThat(stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
  }
}
