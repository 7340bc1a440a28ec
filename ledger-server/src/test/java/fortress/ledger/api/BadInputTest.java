package fortress.ledger.api;

import static fortress.ledger.TestNode.assertInvalid;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import fortress.ledger.TestNode;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.LedgerServiceGrpc.LedgerServiceBlockingStub;
import fortress.ledger.v1.PaymentCard;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.VerifyJournalRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every field's bad values get INVALID_ARGUMENT naming the field, and change nothing. */
class BadInputTest {
  private static final String TENANT = "bad-input";
  private static final String LONG_ID = "x".repeat(129);
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = new TestNode();
    node.open(TENANT, "acct", 1000);
    node.open(TENANT, "other", 0);
    // An active hold, so the account under test has held credits too.
    node.stub.createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(TENANT)
        .setAccountId("acct").setAmount(10).setTimeoutSeconds(600).build());
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static DepositRequest.Builder deposit() {
    return DepositRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setAccountId("acct").setAmount(1);
  }

  static ConsumeRequest.Builder consume() {
    return ConsumeRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setAccountId("acct").setAmount(1);
  }

  static TransferRequest.Builder transfer() {
    return TransferRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setFromAccountId("acct")
        .setToAccountId("other").setAmount(1);
  }

  static CreateHoldRequest.Builder hold() {
    return CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(TENANT).setAccountId("acct").setAmount(1)
        .setTimeoutSeconds(60);
  }

  static PaymentCard.Builder card() {
    return PaymentCard.newBuilder().setNumber("4111111111111111").setExpiryMonth(12).setExpiryYear(2030);
  }

  static Stream<Arguments> badRequests() {
    List<Arguments> cases = new ArrayList<>();
    // Identifiers: empty, too long, bad characters — on every RPC that takes them.
    for (String bad : new String[] {"", LONG_ID, "has space", "semi;colon", "ünïcode"}) {
      cases.add(Arguments.of("deposit request_id " + bad, deposit().setRequestId(bad).build(), "request_id"));
      cases.add(Arguments.of("deposit tenant_id " + bad, deposit().setTenantId(bad).build(), "tenant_id"));
      cases.add(Arguments.of("deposit account_id " + bad, deposit().setAccountId(bad).build(), "account_id"));
      cases.add(Arguments.of("consume account_id " + bad, consume().setAccountId(bad).build(), "account_id"));
      cases.add(Arguments.of("create account_id " + bad, CreateAccountRequest.newBuilder().setRequestId(id())
          .setTenantId(TENANT).setAccountId(bad).build(), "account_id"));
      cases.add(Arguments.of("create request_id " + bad, CreateAccountRequest.newBuilder().setRequestId(bad)
          .setTenantId(TENANT).setAccountId("new").build(), "request_id"));
      cases.add(Arguments.of("transfer from " + bad, transfer().setFromAccountId(bad).build(), "from_account_id"));
      cases.add(Arguments.of("transfer to " + bad, transfer().setToAccountId(bad).build(), "to_account_id"));
      cases.add(Arguments.of("hold account_id " + bad, hold().setAccountId(bad).build(), "account_id"));
      cases.add(Arguments.of("capture hold_id " + bad, CaptureHoldRequest.newBuilder().setRequestId(id())
          .setTenantId(TENANT).setHoldId(bad).build(), "hold_id"));
      cases.add(Arguments.of("release hold_id " + bad, ReleaseHoldRequest.newBuilder().setRequestId(id())
          .setTenantId(TENANT).setHoldId(bad).build(), "hold_id"));
      cases.add(Arguments.of("release tenant " + bad, ReleaseHoldRequest.newBuilder().setRequestId(id())
          .setTenantId(bad).setHoldId("h").build(), "tenant_id"));
    }
    cases.add(Arguments.of("tenant 65 chars", deposit().setTenantId("t".repeat(65)).build(), "tenant_id"));
    // Amounts: zero, negative, over 10^15, overflow-sized — on every amount field.
    for (long bad : new long[] {0, -1, Long.MIN_VALUE, 1_000_000_000_000_001L, Long.MAX_VALUE}) {
      cases.add(Arguments.of("deposit amount " + bad, deposit().setAmount(bad).build(), "amount"));
      cases.add(Arguments.of("consume amount " + bad, consume().setAmount(bad).build(), "amount"));
      cases.add(Arguments.of("transfer amount " + bad, transfer().setAmount(bad).build(), "amount"));
      cases.add(Arguments.of("hold amount " + bad, hold().setAmount(bad).build(), "amount"));
      cases.add(Arguments.of("capture amount " + bad, CaptureHoldRequest.newBuilder().setRequestId(id())
          .setTenantId(TENANT).setHoldId("h").setAmount(bad).build(), "amount"));
    }
    cases.add(Arguments.of("transfer to self", transfer().setToAccountId("acct").build(), "to_account_id"));
    for (long bad : new long[] {0, -5, 7L * 24 * 3600 + 1, Long.MAX_VALUE}) {
      cases.add(Arguments.of("hold timeout " + bad, hold().setTimeoutSeconds(bad).build(), "timeout_seconds"));
    }
    cases.add(Arguments.of("memo too long", consume().setMemo("m".repeat(257)).build(), "memo"));
    cases.add(Arguments.of("memo with NUL", consume().setMemo("a\u0000b").build(), "memo"));
    cases.add(Arguments.of("card number letters", deposit().setCard(card().setNumber("4111abcd11111111")).build(),
        "card.number"));
    cases.add(Arguments.of("card number short", deposit().setCard(card().setNumber("41111111111")).build(),
        "card.number"));
    cases.add(Arguments.of("card number luhn", deposit().setCard(card().setNumber("4111111111111112")).build(),
        "card.number"));
    cases.add(Arguments.of("card month 0", deposit().setCard(card().setExpiryMonth(0)).build(), "card.expiry_month"));
    cases.add(Arguments.of("card month 13", deposit().setCard(card().setExpiryMonth(13)).build(), "card.expiry_month"));
    cases.add(Arguments.of("card year", deposit().setCard(card().setExpiryYear(30)).build(), "card.expiry_year"));
    cases.add(Arguments.of("card holder", deposit().setCard(card().setHolderName("n".repeat(129))).build(),
        "card.holder_name"));
    cases.add(Arguments.of("get tenant empty", GetAccountRequest.newBuilder().setAccountId("acct").build(),
        "tenant_id"));
    cases.add(Arguments.of("get account long", GetAccountRequest.newBuilder().setTenantId(TENANT)
        .setAccountId(LONG_ID).build(), "account_id"));
    cases.add(Arguments.of("get as_of negative", GetAccountRequest.newBuilder().setTenantId(TENANT)
        .setAccountId("acct").setAsOfSequence(-1).build(), "as_of_sequence"));
    cases.add(Arguments.of("operation request empty", GetOperationRequest.newBuilder().setTenantId(TENANT)
        .setAccountId("acct").build(), "request_id"));
    cases.add(Arguments.of("operation account bad", GetOperationRequest.newBuilder().setTenantId(TENANT)
        .setRequestId("r").setAccountId("no spaces").build(), "account_id"));
    cases.add(Arguments.of("operation two scopes", GetOperationRequest.newBuilder().setTenantId(TENANT)
        .setRequestId("r").setAccountId("acct").setHoldId("h").build(), "hold_id"));
    cases.add(Arguments.of("batch too large", batchOf(1001), "operations"));
    return cases.stream();
  }

  static SubmitBatchRequest batchOf(int n) {
    SubmitBatchRequest.Builder b = SubmitBatchRequest.newBuilder();
    for (int i = 0; i < n; i++) {
      b.addOperations(BatchOperation.newBuilder().setDeposit(deposit()));
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void badInput_invalidArgumentNamingField_changesNothing(String name, Message request, String field) {
    Account acctBefore = node.account(TENANT, "acct");
    Account otherBefore = node.account(TENANT, "other");
    long entriesBefore = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getEntriesChecked();

    assertInvalid(() -> call(node.stub(), request), field);

    assertThat(node.account(TENANT, "acct")).isEqualTo(acctBefore);
    assertThat(node.account(TENANT, "other")).isEqualTo(otherBefore);
    assertThat(node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance()).getEntriesChecked())
        .isEqualTo(entriesBefore);
  }

  private static void call(LedgerServiceBlockingStub stub, Message request) {
    if (request instanceof DepositRequest r) {
      stub.deposit(r);
    } else if (request instanceof ConsumeRequest r) {
      stub.consume(r);
    } else if (request instanceof TransferRequest r) {
      stub.transfer(r);
    } else if (request instanceof CreateAccountRequest r) {
      stub.createAccount(r);
    } else if (request instanceof CreateHoldRequest r) {
      stub.createHold(r);
    } else if (request instanceof CaptureHoldRequest r) {
      stub.captureHold(r);
    } else if (request instanceof ReleaseHoldRequest r) {
      stub.releaseHold(r);
    } else if (request instanceof GetAccountRequest r) {
      stub.getAccount(r);
    } else if (request instanceof GetOperationRequest r) {
      stub.getOperation(r);
    } else if (request instanceof SubmitBatchRequest r) {
      stub.submitBatch(r);
    } else {
      throw new IllegalArgumentException(request.getClass().toString());
    }
  }

  @org.junit.jupiter.api.Test
  void deposit_wouldOverflowBalance_balanceOverflowAndUnchanged() {
    node.open(TENANT, "rich", 0);
    long max = 1_000_000_000_000_000L;
    List<BatchOperation> ops = new ArrayList<>();
    for (int i = 0; i < 9223; i++) {
      ops.add(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder().setRequestId(id())
          .setTenantId(TENANT).setAccountId("rich").setAmount(max)).build());
    }
    for (int from = 0; from < ops.size(); from += 1000) {
      node.stub.submitBatch(SubmitBatchRequest.newBuilder()
          .addAllOperations(ops.subList(from, Math.min(ops.size(), from + 1000))).build());
    }
    Account before = node.account(TENANT, "rich");
    assertThat(before.getBalance()).isEqualTo(9223 * max);
    TestNode.assertRejected(() -> node.stub.deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(TENANT)
        .setAccountId("rich").setAmount(max).build()), io.grpc.Status.Code.FAILED_PRECONDITION, "BALANCE_OVERFLOW");
    assertThat(node.account(TENANT, "rich")).isEqualTo(before);
  }
}
