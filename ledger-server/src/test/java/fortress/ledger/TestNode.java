package fortress.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import fortress.cluster.v1.RingNode;
import fortress.core.store.TestPostgres;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.assertj.core.api.ThrowableAssert;

/** A real ledger node on a fresh database, reached through real stubs over an in-process channel. */
public final class TestNode implements AutoCloseable {
  public final LedgerServer server;
  public final ManagedChannel channel;
  public final LedgerServiceGrpc.LedgerServiceBlockingStub stub;
  public final String jdbcUrl;
  private final String name;

  public TestNode() {
    this(c -> c);
  }

  public TestNode(UnaryOperator<LedgerConfig> tune) {
    this("ledger-test-" + UUID.randomUUID(), new String[0], tune, node -> {
      throw new IllegalStateException("a standalone test node has no peers");
    });
  }

  /**
   * A node named {@code name} in-process, configured by {@code flags}, reaching its peers through
   * {@code connect}: how {@link TestCluster} builds its nodes.
   */
  public TestNode(String name, String[] flags, UnaryOperator<LedgerConfig> tune,
      Function<RingNode, ManagedChannel> connect) {
    this(name, flags, tune, connect, List.of());
  }

  /** As above, with {@link #channel} calling with {@code credentials} (a member's node token, say). */
  public TestNode(String name, String[] flags, UnaryOperator<LedgerConfig> tune,
      Function<RingNode, ManagedChannel> connect, List<ClientInterceptor> credentials) {
    this.name = name;
    LedgerConfig config = tune.apply(LedgerConfig.parse(flags, Map.of())
        .withJdbc(TestPostgres.newDatabase(), "postgres", "")
        .withKeys(randomKey(), randomKey()));
    try {
      server = LedgerServer.start(config, InProcessServerBuilder.forName(name), connect);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    jdbcUrl = server.config().jdbcUrl();
    channel = InProcessChannelBuilder.forName(name).intercept(credentials).build();
    stub = LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  public LedgerServiceGrpc.LedgerServiceBlockingStub stub() {
    return LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** A new channel to this node that presents no credentials; the caller shuts it down. */
  public ManagedChannel anonymousChannel() {
    return InProcessChannelBuilder.forName(name).build();
  }

  public static byte[] randomKey() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return key;
  }

  public static String id() {
    return UUID.randomUUID().toString();
  }

  public Account open(String tenant, String account, long deposit) {
    stub().createAccount(CreateAccountRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId(account).build());
    if (deposit > 0) {
      stub().deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setAccountId(account)
          .setAmount(deposit).build());
    }
    return account(tenant, account);
  }

  public Account account(String tenant, String account) {
    return stub().getAccount(GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId(account).build())
        .getAccount();
  }

  /** Asserts the call fails with this code and ErrorInfo reason; returns the ErrorInfo. */
  public static ErrorInfo assertRejected(ThrowableAssert.ThrowingCallable call, Status.Code code, String reason) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
    assertThat(e).as("expected %s %s", code, reason).isNotNull();
    assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    assertThat(status).isNotNull();
    ErrorInfo info = status.getDetailsList().stream().filter(a -> a.is(ErrorInfo.class)).map(a -> {
      try {
        return a.unpack(ErrorInfo.class);
      } catch (InvalidProtocolBufferException x) {
        throw new AssertionError(x);
      }
    }).findFirst().orElseThrow(() -> new AssertionError("no ErrorInfo in " + e.getStatus()));
    assertThat(info.getReason()).as(e.getStatus().getDescription()).isEqualTo(reason);
    assertThat(info.getDomain()).isEqualTo("ledger.fortress.dev");
    return info;
  }

  /** Asserts INVALID_ARGUMENT naming {@code field}. */
  public static void assertInvalid(ThrowableAssert.ThrowingCallable call, String field) {
    ErrorInfo info = assertRejected(call, Status.Code.INVALID_ARGUMENT, "INVALID_FIELD");
    assertThat(info.getMetadataMap()).containsEntry("field", field);
  }

  public Path dataDir() {
    return server.config().dataDir();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
  }
}
