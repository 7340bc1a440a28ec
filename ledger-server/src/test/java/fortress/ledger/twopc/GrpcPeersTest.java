package fortress.ledger.twopc;

import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.core.ring.RingFile;
import fortress.ledger.TestCluster;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.CommitResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.PrepareResponse;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GrpcPeers against real nodes. Its legs are prepared and committed straight at the participant,
 * crediting without a debit, so it has a cluster of its own (others check conservation).
 */
class GrpcPeersTest {
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster(2);
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  /**
   * Prepare and Commit calls to one node made while another is in flight go together in one
   * batched call; each caller gets its own leg's answer, and every credit lands once.
   */
  @Test
  void grpcPeers_batchLegsQueuedBehindACallInFlight_andAnswerEachLeg() throws Exception {
    String t = "t-" + UUID.randomUUID().toString().substring(0, 8);
    String b = cluster.openOn("ledger-2", t, "b", 0);
    String missing = cluster.accountOn("ledger-2", t, "missing");
    int legs = 60;
    try (GrpcPeers peers = new GrpcPeers(RingFile.open(cluster.ringFile()), cluster::connect, Map.of(), List.of())) {
      List<String> txids = new ArrayList<>();
      List<CompletableFuture<PrepareResponse>> votes = new ArrayList<>();
      for (int i = 0; i < legs; i++) {
        String txid = "tx-" + UUID.randomUUID();
        txids.add(txid);
        votes.add(peers.prepare("ledger-2", PrepareRequest.newBuilder().setTxid(txid).setCoordinatorNodeId("ledger-1")
            .setTenantId(t).setAccountId(i == 7 ? missing : b).setAmount(1).setRequestId(id()).build(), 10_000));
      }
      ExecutionException no = catchThrowableOfType(() -> votes.get(7).get(30, TimeUnit.SECONDS),
          ExecutionException.class);
      assertThat(Status.fromThrowable(no.getCause()).getCode()).isEqualTo(Status.Code.NOT_FOUND);
      List<CompletableFuture<CommitResponse>> applied = new ArrayList<>();
      for (int i = 0; i < legs; i++) {
        if (i != 7) {
          votes.get(i).get(30, TimeUnit.SECONDS);
          applied.add(peers.commit("ledger-2", CommitRequest.newBuilder().setTxid(txids.get(i)).build(), 10_000));
        }
      }
      for (CompletableFuture<CommitResponse> a : applied) {
        assertThat(a.get(30, TimeUnit.SECONDS).getEntrySequence()).isPositive();
      }
      assertThat(cluster.account(t, b).getBalance()).isEqualTo(legs - 1);
      assertThat(peers.batchedCalls()).as("batched calls").isPositive();
    }
  }

}
