package fortress.proxy;

import static fortress.core.rpc.TestCalls.info;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.core.rpc.RawBytes;
import fortress.ledger.TestCluster;
import fortress.ledger.v1.LedgerServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An anonymous caller of the proxy learns nothing of the API's rules: every method of every
 * public-facing service answers UNAUTHENTICATED before it looks at the request, whether the request
 * is empty, malformed or unparseable.
 */
class AuthenticateFirstTest {
  private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();
  private static TestCluster cluster;
  private static ProxyServer proxy;
  private static ManagedChannel channel;
  private static ProxyServer nettyProxy;
  private static ManagedChannel nettyChannel;

  @BeforeAll
  static void start() throws Exception {
    cluster = new TestCluster(1);
    String name = "proxy-auth-" + UUID.randomUUID();
    proxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--auth-hs256-key=" + Base64.getEncoder().encodeToString(KEY), "--audit-interval-ms=0",
        "--verify-interval-ms=0"}, Map.of()), InProcessServerBuilder.forName(name), cluster::connect);
    channel = InProcessChannelBuilder.forName(name).build();
    nettyProxy = ProxyServer.start(ProxyConfig.parse(new String[] {"--ring-file=" + cluster.ringFile(),
        "--auth-hs256-key=" + Base64.getEncoder().encodeToString(KEY), "--audit-interval-ms=0",
        "--verify-interval-ms=0", "--grpc-port=0", "--metrics-port=-1"}, Map.of()));
    nettyChannel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", nettyProxy.port())
        .usePlaintext().build();
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow();
    nettyChannel.shutdownNow();
    proxy.close();
    nettyProxy.close();
    cluster.close();
  }

  private static List<MethodDescriptor<byte[], byte[]>> publicMethods() {
    List<MethodDescriptor<byte[], byte[]>> methods = new ArrayList<>();
    for (ServiceDescriptor service : List.of(LedgerServiceGrpc.getServiceDescriptor(),
        ClusterServiceGrpc.getServiceDescriptor())) {
      for (MethodDescriptor<?, ?> m : service.getMethods()) {
        methods.add(m.toBuilder(RawBytes.INSTANCE, RawBytes.INSTANCE).build());
      }
    }
    return methods;
  }

  private static byte[] send(ManagedChannel to, MethodDescriptor<byte[], byte[]> method, byte[] body,
      Metadata headers) {
    var interceptor = MetadataUtils.newAttachHeadersInterceptor(headers);
    return ClientCalls.blockingUnaryCall(io.grpc.ClientInterceptors.intercept(to, interceptor), method,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body);
  }

  private static StatusRuntimeException refused(ManagedChannel to, MethodDescriptor<byte[], byte[]> method,
      byte[] body, Metadata headers) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> send(to, method, body, headers));
    assertThat(e).as(method.getFullMethodName() + " should be refused").isNotNull();
    return e;
  }

  @Test
  void everyMethod_withoutAToken_isUnauthenticated_beforeTheRequestIsLookedAt() {
    // An empty request (no tenant_id, no request_id), and bytes that do not parse as protobuf.
    List<byte[]> bodies = List.of(new byte[0], new byte[] {(byte) 0xff, 0x01, 0x02});
    for (MethodDescriptor<byte[], byte[]> method : publicMethods()) {
      for (byte[] body : bodies) {
        for (ManagedChannel to : List.of(channel, nettyChannel)) {
        StatusRuntimeException e = refused(to, method, body, new Metadata());
        assertThat(e.getStatus().getCode()).as(method.getFullMethodName() + " " + e.getStatus())
            .isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(info(e).getReason()).as(method.getFullMethodName()).isEqualTo("TOKEN_MISSING");
        assertThat(e.getStatus().getDescription()).as(method.getFullMethodName())
            .doesNotContain("tenant_id").doesNotContain("request_id").doesNotContain("parse");
        }
      }
    }
  }

  @Test
  void everyMethod_withABadToken_isUnauthenticated_beforeTheRequestIsLookedAt() {
    Metadata forged = new Metadata();
    forged.put(io.grpc.Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer x.y.z");
    for (MethodDescriptor<byte[], byte[]> method : publicMethods()) {
      StatusRuntimeException e = refused(nettyChannel, method, new byte[0], forged);
      assertThat(e.getStatus().getCode()).as(method.getFullMethodName() + " " + e.getStatus())
          .isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(info(e).getReason()).as(method.getFullMethodName()).isEqualTo("TOKEN_INVALID");
    }
  }
}
