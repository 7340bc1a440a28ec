package fortress.decoy;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.store.TestPostgres;
import fortress.decoy.v1.DecoyServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

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
    List<String> args = new ArrayList<>(List.of("--jdbc-url=" + jdbcUrl, "--grpc-port=0", "--http-port=0", "--metrics-port=0",
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
