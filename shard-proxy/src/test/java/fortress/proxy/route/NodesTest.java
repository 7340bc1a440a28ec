package fortress.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.Ring;
import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.rpc.RawBytes;
import fortress.ledger.TestCluster;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.ledger.v1.TransferRequest;
import fortress.proxy.ProxyConfig;
import fortress.proxy.ProxyServer;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The proxy's connections to the nodes of the ring in force: a node that comes up after the proxy
 * is usable by fan-out calls at once, a node that leaves the ring is no longer kept connected, and
 * a node's garbled answer reaches the client as that node's failure.
 */
class NodesTest {
  private static Path ring(Ring ring) throws Exception {
    Path file = Files.createTempFile("ring", ".txtpb");
    RingFile.write(file, ring);
    return file;
  }

  private static ProxyConfig config(Path ring) {
    return ProxyConfig.parse(new String[] {"--ring-file=" + ring, "--audit-interval-ms=0", "--verify-interval-ms=0",
        "--call-timeout-ms-default=3000"}, Map.of());
  }

  @Test
  void aNodeThatComesUpAfterTheProxy_servesFanOutCalls_atOnce() throws Exception {
    try (TestCluster cluster = new TestCluster(2)) {
      cluster.stop("ledger-2");
      String name = "proxy-" + UUID.randomUUID();
      try (ProxyServer proxy = ProxyServer.start(config(cluster.ringFile()), InProcessServerBuilder.forName(name),
          cluster::connect)) {
        Thread.sleep(8_000); // the channel to ledger-2 fails to connect, its backoff grows past seconds
        cluster.start("ledger-2");
        ManagedChannel client = InProcessChannelBuilder.forName(name).build();
        try {
          assertThat(ClusterServiceGrpc.newBlockingStub(client).withDeadlineAfter(10, TimeUnit.SECONDS)
              .getClusterTotals(GetClusterTotalsRequest.getDefaultInstance()).getNodesCount()).isEqualTo(2);
        } finally {
          client.shutdownNow();
        }
      }
    }
  }

  @Test
  void aNodeRemovedFromTheRing_isNoLongerKeptConnected() throws Exception {
    AtomicInteger connections = new AtomicInteger();
    // It closes connections idle for 300 ms, so a proxy that keeps it connected connects again and again.
    Server leaving = NettyServerBuilder.forPort(0).maxConnectionIdle(300, TimeUnit.MILLISECONDS)
        .addTransportFilter(new ServerTransportFilter() {
          @Override
          public Attributes transportReady(Attributes attributes) {
            connections.incrementAndGet();
            return attributes;
          }
        }).addService(new HealthGrpc.HealthImplBase() {}).build().start();
    Server staying = NettyServerBuilder.forPort(0).addService(new HealthGrpc.HealthImplBase() {}).build().start();
    RingNode one = RingNode.newBuilder().setNodeId("ledger-1").setAddress("127.0.0.1:" + staying.getPort()).build();
    RingNode two = RingNode.newBuilder().setNodeId("ledger-2").setAddress("127.0.0.1:" + leaving.getPort()).build();
    Path ringFile = ring(Ring.newBuilder().setEpoch(1).addNodes(one).addNodes(two).build());
    String name = "proxy-" + UUID.randomUUID();
    try (ProxyServer proxy = ProxyServer.start(config(ringFile), InProcessServerBuilder.forName(name),
        n -> NettyChannelBuilder.forTarget(n.getAddress()).usePlaintext().build())) {
      Thread.sleep(3_500);
      assertThat(connections.get()).as("a node of the ring is kept connected").isGreaterThan(1);
      RingFile.write(ringFile, Ring.newBuilder().setEpoch(2).addNodes(one).build());
      Files.setLastModifiedTime(ringFile, FileTime.from(Instant.now().plusSeconds(5)));
      ManagedChannel client = InProcessChannelBuilder.forName(name).build();
      try {
        assertThat(ClusterServiceGrpc.newBlockingStub(client).withDeadlineAfter(10, TimeUnit.SECONDS)
            .getRing(GetRingRequest.newBuilder().setTenantId("t").build()).getRing().getNodesCount()).isEqualTo(1);
      } finally {
        client.shutdownNow();
      }
      Thread.sleep(1_500); // a round of the keeper that may have started before the ring changed
      int before = connections.get();
      Thread.sleep(3_000);
      assertThat(connections.get() - before).as("connections to a node no longer in the ring").isZero();
    } finally {
      leaving.shutdownNow();
      staying.shutdownNow();
    }
  }

  /** A node whose GetAccount and Transfer answers are a length-delimited field cut short. */
  private static ServerServiceDefinition garblingNode() {
    ServerServiceDefinition.Builder node = ServerServiceDefinition.builder(LedgerServiceGrpc.SERVICE_NAME);
    for (MethodDescriptor<?, ?> m : LedgerServiceGrpc.getServiceDescriptor().getMethods()) {
      node.addMethod(ServerMethodDefinition.create(m.toBuilder(RawBytes.INSTANCE, RawBytes.INSTANCE).build(),
          ServerCalls.asyncUnaryCall((request, out) -> {
            out.onNext(new byte[] {0x0a, 0x7f, 0x01});
            out.onCompleted();
          })));
    }
    return node.build();
  }

  @Test
  void aNodesGarbledAnswer_reachesTheClientAsThatNodesFailure() throws Exception {
    String nodeName = "node-" + UUID.randomUUID();
    Server node = InProcessServerBuilder.forName(nodeName).addService(garblingNode()).build().start();
    Path ringFile = ring(Ring.newBuilder().setEpoch(1).addNodes(RingNode.newBuilder().setNodeId("ledger-1")
        .setAddress("127.0.0.1:1")).build());
    String name = "proxy-" + UUID.randomUUID();
    try (ProxyServer proxy = ProxyServer.start(config(ringFile), InProcessServerBuilder.forName(name),
        n -> InProcessChannelBuilder.forName(nodeName).build())) {
      ManagedChannel client = InProcessChannelBuilder.forName(name).build();
      try {
        var ledger = LedgerServiceGrpc.newBlockingStub(client).withDeadlineAfter(10, TimeUnit.SECONDS);
        for (Runnable call : new Runnable[] {
            () -> ledger.getAccount(GetAccountRequest.newBuilder().setTenantId("t").setAccountId("a").build()),
            () -> ledger.transfer(TransferRequest.newBuilder().setRequestId("r").setTenantId("t").setFromAccountId("a")
                .setToAccountId("b").setAmount(1).build())}) {
          StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
          assertThat(e.getStatus().getCode()).isNotIn(Status.Code.INTERNAL, Status.Code.UNKNOWN);
          assertThat(Errors.info(e)).as("an ErrorInfo, from the proxy").isNotNull();
          assertThat(Errors.info(e).getMetadataMap()).containsEntry("node", "ledger-1");
        }
      } finally {
        client.shutdownNow();
      }
    } finally {
      node.shutdownNow();
    }
  }
}
