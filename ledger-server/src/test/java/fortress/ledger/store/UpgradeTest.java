package fortress.ledger.store;

import static fortress.ledger.TestNode.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.store.TestPostgres;
import fortress.ledger.Accounts;
import fortress.ledger.TestNode;
import fortress.ledger.journal.Chain;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import io.grpc.Status;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * A database written under the old request_id scope (one per tenant on a node, schema V2) is
 * upgraded by V3, which scopes each record to the account its own operation acted on, never to
 * another operation's account that happens to carry the same id: a refused cross-node transfer's
 * holds, or the credit of a transfer to another tenant.
 */
class UpgradeTest {
  private static final long T0 = 1_790_000_000_000_000L;

  private final byte[] journalKey = TestNode.randomKey();
  private final Chain chain = new Chain(journalKey);
  private byte[] prev = Chain.GENESIS;
  private long sequence;
  private final Map<Long, long[]> balances = new HashMap<>();

  @Test
  void v3_scopesEveryOldRecordToItsOwnOperationsAccount_soARetryNeverAppliesTwice() throws Exception {
    String url = TestPostgres.newDatabase();
    Flyway.configure().dataSource(url, "postgres", "").locations("classpath:db/ledger").target("2").load().migrate();
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      account(c, 1, "t1", "a0");
      account(c, 2, "t1", "c1");
      account(c, 3, "t1", "x");
      account(c, 4, "t2", "y2");
      account(c, 5, "t2", "z3");
      entry(c, 1, EntryKind.ENTRY_KIND_DEPOSIT, 100, 0, "fund-a0", null, null);
      record(c, "t1", "fund-a0", 2, deposit("t1", "a0", 1));
      // A cross-node transfer from a0 under R1 that its participant refused: held, then released.
      entry(c, 1, EntryKind.ENTRY_KIND_HOLD_CREATED, 0, 10, "R1", "tx-a", "tx-a");
      entry(c, 1, EntryKind.ENTRY_KIND_HOLD_RELEASED, 0, -10, "R1", "tx-a", "tx-a");
      // Then R1 used again, for a deposit to c1, which the old scope allowed.
      entry(c, 2, EntryKind.ENTRY_KIND_DEPOSIT, 100, 0, "R1", null, null);
      record(c, "t1", "R1", 2, deposit("t1", "c1", 2));
      // A same-node transfer from t1's x to t2's y2 under R2, then t2's own deposit to z3 under R2.
      entry(c, 3, EntryKind.ENTRY_KIND_DEPOSIT, 50, 0, "fund-x", null, null);
      entry(c, 3, EntryKind.ENTRY_KIND_TRANSFER_DEBIT, -20, 0, "R2", null, "tr-b");
      entry(c, 4, EntryKind.ENTRY_KIND_TRANSFER_CREDIT, 20, 0, "R2", null, "tr-b");
      record(c, "t1", "R2", 4, TransferResponse.newBuilder().setTransferId("tr-b").build().toByteArray());
      entry(c, 5, EntryKind.ENTRY_KIND_DEPOSIT, 100, 0, "R2", null, null);
      record(c, "t2", "R2", 2, deposit("t2", "z3", 5));
      for (Map.Entry<Long, long[]> b : balances.entrySet()) {
        try (PreparedStatement s = c.prepareStatement(
            "UPDATE account SET balance = ?, held = ?, last_sequence = ? WHERE id = ?")) {
          s.setLong(1, b.getValue()[0]);
          s.setLong(2, b.getValue()[1]);
          s.setLong(3, b.getValue()[2]);
          s.setLong(4, b.getKey());
          s.executeUpdate();
        }
      }
    }

    try (TestNode node = new TestNode("upgrade-" + System.nanoTime(), new String[0],
        config -> config.withJdbc(url, "postgres", "").withKeys(journalKey, TestNode.randomKey()), n -> {
          throw new IllegalStateException("a standalone node has no peers");
        })) {
      assertThat(scopes(url)).containsEntry("t1/fund-a0", "a0").containsEntry("t1/R1", "c1")
          .containsEntry("t1/R2", "x").containsEntry("t2/R2", "z3");
      assertThat(node.stub().getOperation(lookup("t1", "c1", "R1")).getOperation().hasDeposit()).isTrue();
      assertRejected(() -> node.stub().getOperation(lookup("t1", "a0", "R1")), Status.Code.NOT_FOUND,
          "OPERATION_NOT_FOUND");
      assertThat(node.stub().getOperation(lookup("t2", "z3", "R2")).getOperation().hasDeposit()).isTrue();
      assertThat(node.stub().getOperation(lookup("t1", "x", "R2")).getOperation().hasTransfer()).isTrue();

      // Retrying the old requests (another body than recorded, so refused) moves nothing.
      assertRejected(() -> node.stub().deposit(DepositRequest.newBuilder().setRequestId("R1").setTenantId("t1")
          .setAccountId("c1").setAmount(100).build()), Status.Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");
      assertRejected(() -> node.stub().deposit(DepositRequest.newBuilder().setRequestId("R2").setTenantId("t2")
          .setAccountId("z3").setAmount(100).build()), Status.Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");
      assertThat(node.account("t1", "c1").getBalance()).isEqualTo(100);
      assertThat(node.account("t2", "z3").getBalance()).isEqualTo(100);
      assertThat(node.stub().verifyJournal(VerifyJournalRequest.getDefaultInstance()).getOk()).isTrue();
    }
  }

  private static GetOperationRequest lookup(String tenant, String account, String requestId) {
    return GetOperationRequest.newBuilder().setTenantId(tenant).setAccountId(account).setRequestId(requestId).build();
  }

  private static Map<String, String> scopes(String url) throws SQLException {
    Map<String, String> out = new HashMap<>();
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        ResultSet rs = c.createStatement().executeQuery("SELECT tenant_id, request_id, account_id FROM idempotency")) {
      while (rs.next()) {
        out.put(rs.getString(1) + "/" + rs.getString(2), rs.getString(3));
      }
    }
    return out;
  }

  private void account(Connection c, long id, String tenant, String accountId) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("INSERT INTO account VALUES (?, ?, ?, 0, 0, 0, from_micros(?))")) {
      s.setLong(1, id);
      s.setString(2, tenant);
      s.setString(3, accountId);
      s.setLong(4, T0);
      s.executeUpdate();
    }
    balances.put(id, new long[3]);
    entry(c, id, EntryKind.ENTRY_KIND_ACCOUNT_CREATED, 0, 0, "open-" + accountId, null, null);
  }

  /** Appends a journal entry as the old writer did, chained and sealed; the balance and held move by the deltas. */
  private void entry(Connection c, long account, EntryKind kind, long balanceDelta, long heldDelta, String requestId,
      String holdId, String transferId) throws SQLException {
    long[] b = balances.get(account);
    b[0] += balanceDelta;
    b[1] += heldDelta;
    b[2] = ++sequence;
    long amount = Math.abs(balanceDelta) + Math.abs(heldDelta);
    byte[] hash = chain.hash(prev, sequence, account, kind.getNumber(), amount, b[0], b[1], requestId, holdId,
        transferId, "", T0 + sequence);
    prev = hash;
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', from_micros(?), ?, ?)")) {
      s.setLong(1, sequence);
      s.setLong(2, account);
      s.setInt(3, kind.getNumber());
      s.setLong(4, amount);
      s.setLong(5, b[0]);
      s.setLong(6, b[1]);
      s.setString(7, requestId);
      s.setString(8, holdId);
      s.setString(9, transferId);
      s.setLong(10, T0 + sequence);
      s.setBytes(11, hash);
      s.setBytes(12, chain.hmac(hash));
      s.executeUpdate();
    }
  }

  private static void record(Connection c, String tenant, String requestId, int kind, byte[] response)
      throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, from_micros(?))")) {
      s.setString(1, tenant);
      s.setString(2, requestId);
      s.setInt(3, kind);
      s.setBytes(4, new byte[32]);
      s.setBytes(5, response);
      s.setLong(6, T0);
      s.executeUpdate();
    }
  }

  private byte[] deposit(String tenant, String account, long id) {
    long[] b = balances.get(id);
    return DepositResponse.newBuilder().setAccount(Accounts.proto(tenant, account, b[0], b[1], b[2], T0))
        .setEntrySequence(b[2]).build().toByteArray();
  }
}
