package fortress.ledger.twopc;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.MemberTokens;
import fortress.ledger.TestCluster;
import fortress.ledger.TestNode;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.shard.v1.AbortRequest;
import fortress.shard.v1.CommitLegsRequest;
import fortress.shard.v1.CommitLegsResponse;
import fortress.shard.v1.CommitRequest;
import fortress.shard.v1.PrepareLegsRequest;
import fortress.shard.v1.PrepareLegsResponse;
import fortress.shard.v1.PrepareRequest;
import fortress.shard.v1.ShardServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two-phase commit between real nodes on real databases, each member known by its own node token:
 * only a ledger node may prepare a leg, only naming itself as coordinator, and only that node may
 * then commit or abort it. Nobody holding a member's token can mint credits.
 */
class MemberIdentityTest {
  private static final long MAX_AMOUNT = 1_000_000_000_000_000L;
  private static final MemberTokens TOKENS = new MemberTokens(List.of("ledger-1", "ledger-2", "ledger-3", "proxy"));
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.withFlags(3, TOKENS::nodeFlags, List.of(TOKENS.as("proxy")));
  }

  @AfterAll
  static void stop() throws Exception {
    CHANNELS.values().forEach(io.grpc.ManagedChannel::shutdownNow);
    cluster.close();
  }

  private static String tenant() {
    return "t-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static final java.util.Map<String, io.grpc.ManagedChannel> CHANNELS = new java.util.HashMap<>();

  /** ShardService on {@code node}, called with {@code member}'s token (and nothing else). */
  private static synchronized ShardServiceGrpc.ShardServiceBlockingStub shard(String node, String member) {
    io.grpc.ManagedChannel channel = CHANNELS.computeIfAbsent(node, n -> cluster.node(n).anonymousChannel());
    return ShardServiceGrpc.newBlockingStub(channel).withInterceptors(TOKENS.as(member))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static PrepareRequest leg(String txid, String coordinator, String tenant, String account) {
    return PrepareRequest.newBuilder().setTxid(txid).setCoordinatorNodeId(coordinator).setTenantId(tenant)
        .setAccountId(account).setAmount(MAX_AMOUNT).setRequestId(id()).build();
  }

  private static void assertAuthRefusal(StatusRuntimeException e, Status.Code code, String reason) {
    assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
    assertThat(info(e).getReason()).isEqualTo(reason);
  }

  @Test
  void theProxysToken_cannotPrepare() {
    String t = tenant();
    String b = cluster.openOn("ledger-2", t, "b", 0);

    StatusRuntimeException e = refused(() -> shard("ledger-2", "proxy")
        .prepare(leg("tx-" + UUID.randomUUID(), "ledger-1", t, b)));

    assertAuthRefusal(e, Status.Code.PERMISSION_DENIED, "PEER_FORBIDDEN");
  }

  @Test
  void aNode_cannotPrepareInAnotherNodesName() {
    String t = tenant();
    String b = cluster.openOn("ledger-3", t, "b", 0);

    var info = assertRejected(() -> shard("ledger-3", "ledger-2")
        .prepare(leg("tx-" + UUID.randomUUID(), "ledger-1", t, b)), Status.Code.PERMISSION_DENIED, "NOT_COORDINATOR");

    assertThat(info.getMetadataMap()).containsEntry("field", "coordinator_node_id");
  }

  @Test
  void aLegPreparedByOneNode_cannotBeCommittedOrAbortedByAnother() {
    String t = tenant();
    String b = cluster.openOn("ledger-2", t, "b", 0);
    String txid = "tx-" + UUID.randomUUID();
    shard("ledger-2", "ledger-1").prepare(leg(txid, "ledger-1", t, b));

    assertRejected(() -> shard("ledger-2", "ledger-3").commit(CommitRequest.newBuilder().setTxid(txid).build()),
        Status.Code.PERMISSION_DENIED, "NOT_COORDINATOR");
    assertRejected(() -> shard("ledger-2", "ledger-3").abort(AbortRequest.newBuilder().setTxid(txid).build()),
        Status.Code.PERMISSION_DENIED, "NOT_COORDINATOR");
    assertThat(cluster.account(t, b).getBalance()).isZero();

    // Its coordinator settles it (here: abort, as ledger-1 never decided to commit).
    shard("ledger-2", "ledger-1").abort(AbortRequest.newBuilder().setTxid(txid).build());
    assertThat(cluster.account(t, b).getBalance()).isZero();
  }

  /** The reason of a leg's error in a batched answer. */
  private static String reason(com.google.rpc.Status error) {
    return info(StatusProto.toStatusRuntimeException(error)).getReason();
  }

  @Test
  void batchedLegs_areCheckedLegByLeg_forTheirCoordinator() {
    String t = tenant();
    String b = cluster.openOn("ledger-2", t, "b", 0);
    String mine = "tx-" + UUID.randomUUID();
    String anothers = "tx-" + UUID.randomUUID();

    PrepareLegsResponse votes = shard("ledger-2", "ledger-1").prepareLegs(PrepareLegsRequest.newBuilder()
        .addLegs(leg(mine, "ledger-1", t, b)).addLegs(leg(anothers, "ledger-3", t, b)).build());
    CommitLegsResponse stolen = shard("ledger-2", "ledger-3").commitLegs(CommitLegsRequest.newBuilder()
        .addLegs(CommitRequest.newBuilder().setTxid(mine)).build());

    assertThat(votes.getResults(0).hasVote()).isTrue();
    assertThat(votes.getResults(1).getError().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
    assertThat(reason(votes.getResults(1).getError())).isEqualTo("NOT_COORDINATOR");
    assertThat(reason(stolen.getResults(0).getError())).isEqualTo("NOT_COORDINATOR");
    assertThat(cluster.account(t, b).getBalance()).isZero();
    // Its coordinator settles it (abort: ledger-1 never decided to commit).
    shard("ledger-2", "ledger-1").abort(AbortRequest.newBuilder().setTxid(mine).build());
  }

  @Test
  void aCrossNodeTransfer_stillCommits_andSettles() throws Exception {
    String t = tenant();
    String a = cluster.openOn("ledger-1", t, "a", 100);
    String b = cluster.openOn("ledger-3", t, "b", 0);

    TransferResponse r = cluster.node("ledger-1").stub().transfer(TransferRequest.newBuilder().setRequestId(id())
        .setTenantId(t).setFromAccountId(a).setToAccountId(b).setAmount(40).build());

    assertThat(r.getFromAccount().getBalance()).isEqualTo(60);
    fortress.ledger.Eventually.eventually("credit applied", () -> cluster.account(t, b).getBalance() == 40);
    TwoPhaseCommitTest.assertSettled(cluster);
  }

  @Test
  void inventedCoordinator_cannotMintCredits_withAnyMembersToken() throws Exception {
    String t = tenant();
    String victim = cluster.openOn("ledger-2", t, "mint", 0);
    for (String member : List.of("proxy", "ledger-1", "ledger-3")) {
      String txid = "tx-" + UUID.randomUUID();
      StatusRuntimeException prepare = refused(() -> shard("ledger-2", member).prepare(leg(txid, "ghost", t, victim)));
      assertThat(prepare.getStatus().getCode()).as(member).isEqualTo(Status.Code.PERMISSION_DENIED);
      StatusRuntimeException commit = refused(() -> shard("ledger-2", member)
          .commit(CommitRequest.newBuilder().setTxid(txid).build()));
      assertThat(commit.getStatus().getCode()).as(member).isIn(Status.Code.PERMISSION_DENIED, Status.Code.NOT_FOUND);
    }

    assertThat(cluster.account(t, victim).getBalance()).isZero();
    TwoPhaseCommitTest.assertSettled(cluster);
  }

  @Test
  void aNodeWithASharedTokenAndNoMemberList_refusesToStart() {
    Throwable e = org.assertj.core.api.Assertions.catchThrowable(() -> fortress.ledger.LedgerConfig.parse(
        new String[] {"--node-id=ledger-1", "--node-token=" + TOKENS.token("ledger-1")}, java.util.Map.of()));
    assertThat(e).hasMessageContaining("--node-token needs --member-tokens-file");
    Throwable wrongName = org.assertj.core.api.Assertions.catchThrowable(() -> fortress.ledger.LedgerConfig.parse(
        new String[] {"--node-id=ledger-1", "--node-token=" + TOKENS.token("ledger-2"),
            "--member-tokens-file=" + TOKENS.file()}, java.util.Map.of()));
    assertThat(wrongName).hasMessageContaining("must list this node's --node-token under its id");
  }

  @Test
  void aCallWithNoMemberCredential_isUnauthenticated_beforeItsRequestIsChecked() {
    io.grpc.ManagedChannel anonymous = cluster.node("ledger-1").anonymousChannel();
    try {
      StatusRuntimeException prepare = refused(() -> ShardServiceGrpc.newBlockingStub(anonymous)
          .prepare(PrepareRequest.getDefaultInstance()));
      assertAuthRefusal(prepare, Status.Code.UNAUTHENTICATED, "TOKEN_MISSING");
      StatusRuntimeException read = refused(() -> fortress.ledger.v1.LedgerServiceGrpc.newBlockingStub(anonymous)
          .getAccount(fortress.ledger.v1.GetAccountRequest.getDefaultInstance()));
      assertAuthRefusal(read, Status.Code.UNAUTHENTICATED, "TOKEN_MISSING");
    } finally {
      anonymous.shutdownNow();
    }
  }
}
