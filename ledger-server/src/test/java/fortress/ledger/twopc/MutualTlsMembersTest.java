package fortress.ledger.twopc;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.cluster.v1.Ring;
import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import fortress.core.security.Guard;
import fortress.core.security.Tls;
import fortress.core.store.TestPostgres;
import fortress.ledger.LedgerConfig;
import fortress.ledger.LedgerServer;
import fortress.ledger.TestCa;
import fortress.ledger.TestNode;
import fortress.shard.v1.GetTotalsRequest;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real node over Netty with mTLS: a member is who its certificate says, and a node token sent
 * alongside changes nothing, so the proxy's certificate cannot act as a node whatever it adds.
 */
class MutualTlsMembersTest {
  private static TestCa ca;
  private static Path ringFile;
  private static LedgerServer node;
  /** The node's own token: under mTLS no substitute for a certificate, even the right one. */
  private static String nodeToken;

  @BeforeAll
  static void start() throws Exception {
    ca = new TestCa().issue("ledger-1").issue("ledger-2").issue("proxy");
    ringFile = Files.createTempFile("ring", ".txtpb");
    RingFile.write(ringFile, Ring.newBuilder().setEpoch(1)
        .addNodes(RingNode.newBuilder().setNodeId("ledger-1").setAddress("127.0.0.1:1"))
        .addNodes(RingNode.newBuilder().setNodeId("ledger-2").setAddress("127.0.0.1:2")).build());
    nodeToken = Base64.getEncoder().encodeToString(TestNode.randomKey());
    LedgerConfig config = LedgerConfig.parse(new String[] {"--node-id=ledger-1", "--ring-file=" + ringFile,
        "--grpc-port=0", "--metrics-port=-1", "--tls-cert-file=" + ca.certFile("ledger-1"),
        "--tls-key-file=" + ca.keyFile("ledger-1"), "--tls-ca-file=" + ca.caFile(), "--tls-client-auth=true",
        "--node-token=" + nodeToken}, Map.of())
        .withJdbc(TestPostgres.newDatabase(), "postgres", "").withKeys(TestNode.randomKey(), TestNode.randomKey());
    node = LedgerServer.start(config);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    Files.deleteIfExists(ringFile);
  }

  /** A channel presenting {@code member}'s certificate. */
  private static ManagedChannel as(String member) {
    return new Tls(ca.certFile(member), ca.keyFile(member), ca.caFile(), false)
        .channel("localhost:" + node.port()).build();
  }

  private static PrepareRequest leg(String coordinator) {
    return PrepareRequest.newBuilder().setTxid("tx-" + UUID.randomUUID()).setCoordinatorNodeId(coordinator)
        .setTenantId("t").setAccountId("nobody-" + UUID.randomUUID()).setAmount(1_000_000_000_000_000L)
        .setRequestId(id()).build();
  }

  @Test
  void theProxysCertificate_withANodeToken_cannotActAsANode() {
    ManagedChannel proxy = as("proxy");
    try {
      Metadata token = new Metadata();
      token.put(Guard.NODE_TOKEN, nodeToken);
      var stub = ShardServiceGrpc.newBlockingStub(proxy).withDeadlineAfter(30, TimeUnit.SECONDS)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(token));

      StatusRuntimeException e = refused(() -> stub.prepare(leg("ledger-2")));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(info(e).getReason()).isEqualTo("PEER_FORBIDDEN");
      assertThat(stub.getTotals(GetTotalsRequest.getDefaultInstance()).getTotals().getNodeId())
          .as("the proxy is still a member").isEqualTo("ledger-1");
    } finally {
      proxy.shutdownNow();
    }
  }

  @Test
  void aNodesCertificate_preparesOnlyInItsOwnName() {
    ManagedChannel ledger2 = as("ledger-2");
    try {
      var stub = ShardServiceGrpc.newBlockingStub(ledger2).withDeadlineAfter(30, TimeUnit.SECONDS);

      assertRejected(() -> stub.prepare(leg("ledger-1")), Status.Code.PERMISSION_DENIED, "NOT_COORDINATOR");
      // Admitted in its own name: the leg is then judged on its merits (here, no such account).
      StatusRuntimeException own = refused(() -> stub.prepare(leg("ledger-2")));
      assertThat(own.getStatus().getCode()).isIn(Status.Code.NOT_FOUND, Status.Code.FAILED_PRECONDITION);
    } finally {
      ledger2.shutdownNow();
    }
  }
}
