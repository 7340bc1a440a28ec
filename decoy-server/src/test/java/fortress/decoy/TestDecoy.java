package fortress.decoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.rpc.ErrorInfo;
import fortress.core.store.TestPostgres;
import fortress.decoy.v1.DecoyServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * A decoy server on a fresh database of the shared test PostgreSQL, with its gRPC and HTTP
 * listeners on free loopback ports, reached through a real stub and real HTTP.
 */
public final class TestDecoy implements AutoCloseable {
  public final DecoyServer server;
  public final DecoyServiceGrpc.DecoyServiceBlockingStub stub;
  public final String jdbcUrl;
  private final ManagedChannel channel;

  public TestDecoy(String... flags) {
    jdbcUrl = TestPostgres.newDatabase();
    List<String> args = new ArrayList<>(List.of("--jdbc-url=" + jdbcUrl, "--grpc-port=0", "--http-port=0",
        "--data-dir=" + Path.of("target", "decoy-" + UUID.randomUUID())));
    args.addAll(List.of(flags));
    try {
      server = DecoyServer.start(DecoyConfig.parse(args.toArray(String[]::new), Map.of()));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    stub = DecoyServiceGrpc.newBlockingStub(channel);
  }

  public String http() {
    return "http://127.0.0.1:" + server.httpPort();
  }

  public static String id() {
    return UUID.randomUUID().toString();
  }

  public static void await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** The ErrorInfo of a refused call. */
  public static ErrorInfo info(StatusRuntimeException e) {
    return StatusProto.fromThrowable(e).getDetailsList().stream().filter(d -> d.is(ErrorInfo.class))
        .map(d -> {
          try {
            return d.unpack(ErrorInfo.class);
          } catch (com.google.protobuf.InvalidProtocolBufferException x) {
            throw new AssertionError(x);
          }
        }).findFirst().orElseThrow();
  }

  /** Runs a call that must be refused cleanly: no UNKNOWN, INTERNAL or stack trace. */
  public static StatusRuntimeException refused(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call should be refused").isNotNull();
    assertThat(e.getStatus().getCode()).isNotIn(Status.Code.UNKNOWN, Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).doesNotContain("Exception").doesNotContain("\tat ");
    return e;
  }

  /** A call refused with INVALID_ARGUMENT naming {@code field}. */
  public static void invalid(String field, Runnable call) {
    StatusRuntimeException e = refused(call);
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(info(e).getReason()).isEqualTo("INVALID_FIELD");
    assertThat(info(e).getMetadataMap()).as("%s", e.getStatus()).containsEntry("field", field);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
  }
}
