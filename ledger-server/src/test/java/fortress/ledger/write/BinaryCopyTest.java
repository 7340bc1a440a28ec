package fortress.ledger.write;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import fortress.ledger.TestNode;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class BinaryCopyTest {
  private static final int HEADER_BYTES = 19;
  private static final int FIRST_BUFFER_BYTES = 65_536;

  /**
   * Every kind of value, written so that it starts at each of the last bytes of the encoder's
   * first buffer, makes the buffer grow instead of writing past its end.
   */
  @Test
  void aValueAtTheEndOfTheBuffer_growsIt() {
    List<Consumer<BinaryCopy>> values = List.of(c -> c.int8(42L), c -> c.int2(7),
        c -> c.timestamp(1L), c -> c.text("abc"), c -> c.text("dépôt"), c -> c.bytes(new byte[3]), BinaryCopy::nullValue);
    for (Consumer<BinaryCopy> value : values) {
      for (int free = 0; free <= 14; free++) {
        BinaryCopy copy = new BinaryCopy().start();
        // A row of one bytea (2 + 4 bytes of framing) that leaves `free` bytes before the buffer's end.
        copy.row(1).bytes(new byte[FIRST_BUFFER_BYTES - HEADER_BYTES - 6 - free]);
        assertThatCode(() -> value.accept(copy.row(1))).as("a value with %s bytes left", free)
            .doesNotThrowAnyException();
      }
    }
  }

  /** A batch whose journal rows cross the buffer's end still lands in one transaction. */
  @Test
  void submitBatch_whoseRowsOutgrowTheFirstBuffer_landsInOneTransaction() throws Exception {
    try (TestNode node = new TestNode()) {
      SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
      for (int i = 0; i < 300; i++) {
        batch.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId(TestNode.id()).setTenantId("copy").setAccountId("a" + i)));
        batch.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
            .setRequestId(TestNode.id()).setTenantId("copy").setAccountId("a" + i).setAmount(1_000_000)
            .setMemo("dépôt ✓ " + i)));
      }
      node.stub().submitBatch(batch.build());

      try (Connection c = DriverManager.getConnection(node.jdbcUrl, "postgres", "");
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(DISTINCT xmin::text), count(*) FROM journal")) {
        rs.next();
        assertThat(rs.getLong(2)).as("journal rows").isEqualTo(600);
        assertThat(rs.getLong(1)).as("transactions that wrote them").isEqualTo(1);
      }
    }
  }
}
