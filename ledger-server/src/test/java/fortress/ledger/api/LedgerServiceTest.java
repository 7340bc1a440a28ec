package fortress.ledger.api;

import static fortress.ledger.TestNode.assertInvalid;
import static fortress.ledger.TestNode.assertRejected;
import static fortress.ledger.TestNode.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.TestNode;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.BatchResult;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.Entry;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.HoldState;
import fortress.ledger.v1.ListEntriesRequest;
import fortress.ledger.v1.ListEntriesResponse;
import fortress.ledger.v1.Operation;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.SubmitBatchResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import fortress.ledger.v1.VerifyJournalRequest;
import io.grpc.Status.Code;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LedgerServiceTest {
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = new TestNode(c -> c);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static String tenant() {
    return "t" + id().substring(0, 8);
  }

  @Test
  void walkthrough_depositConsumeThenOverspend_balanceUnchangedAfterRejection() {
    String tenant = tenant();
    String account = tenant + ":main";
    Account created = node.stub.createAccount(CreateAccountRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setAccountId(account).build()).getAccount();
    assertThat(created.getBalance()).isZero();
    node.stub.deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setAccountId(account)
        .setAmount(100).build());
    ConsumeResponse consumed = node.stub.consume(ConsumeRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId(account).setAmount(30).build());
    assertThat(consumed.getAccount().getBalance()).isEqualTo(70);
    assertThat(node.account(tenant, account).getBalance()).isEqualTo(70);

    assertRejected(() -> node.stub.consume(ConsumeRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId(account).setAmount(1000).build()), Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
    assertThat(node.account(tenant, account).getBalance()).isEqualTo(70);
  }

  @Test
  void createAccount_existing_alreadyExists() {
    String tenant = tenant();
    node.open(tenant, "a", 0);
    assertRejected(() -> node.stub.createAccount(CreateAccountRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setAccountId("a").build()), Code.ALREADY_EXISTS, "ACCOUNT_ALREADY_EXISTS");
  }

  @Test
  void getAccount_otherTenant_notFound() {
    String tenant = tenant();
    node.open(tenant, "private", 50);
    assertRejected(() -> node.account("intruder", "private"), Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
    assertRejected(() -> node.stub.consume(ConsumeRequest.newBuilder().setRequestId(id()).setTenantId("intruder")
        .setAccountId("private").setAmount(1).build()), Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
    assertThat(node.account(tenant, "private").getBalance()).isEqualTo(50);
  }

  @Test
  void transfer_sameNode_movesAtomically() {
    String tenant = tenant();
    node.open(tenant, "from", 100);
    node.open(tenant, "to", 5);
    TransferResponse r = node.stub.transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setFromAccountId("from").setToAccountId("to").setAmount(40).build());
    assertThat(r.getTransferId()).isNotEmpty();
    assertThat(r.getFromAccount().getBalance()).isEqualTo(60);
    assertThat(r.getToAccount().getBalance()).isEqualTo(45);
    assertRejected(() -> node.stub.transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setFromAccountId("from").setToAccountId("to").setAmount(61).build()), Code.FAILED_PRECONDITION,
        "INSUFFICIENT_FUNDS");
    assertRejected(() -> node.stub.transfer(TransferRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setFromAccountId("from").setToAccountId("nobody").setAmount(1).build()), Code.NOT_FOUND,
        "ACCOUNT_NOT_FOUND");
    assertThat(node.account(tenant, "from").getBalance()).isEqualTo(60);
    assertThat(node.account(tenant, "to").getBalance()).isEqualTo(45);
  }

  @Test
  void hold_capturePartly_releasesRemainderAndResolvesOnce() {
    String tenant = tenant();
    node.open(tenant, "h", 100);
    CreateHoldResponse hold = node.stub.createHold(CreateHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setAccountId("h").setAmount(60).setTimeoutSeconds(300).build());
    assertThat(hold.getAccount().getHeld()).isEqualTo(60);
    assertThat(hold.getAccount().getAvailable()).isEqualTo(40);
    assertThat(hold.getHold().getState()).isEqualTo(HoldState.HOLD_STATE_ACTIVE);
    assertRejected(() -> node.stub.consume(ConsumeRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId("h").setAmount(41).build()), Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");

    String holdId = hold.getHold().getHoldId();
    assertRejected(() -> node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setHoldId(holdId).setAmount(61).build()), Code.FAILED_PRECONDITION,
        "CAPTURE_EXCEEDS_HOLD");
    CaptureHoldResponse captured = node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setHoldId(holdId).setAmount(25).build());
    assertThat(captured.getHold().getState()).isEqualTo(HoldState.HOLD_STATE_CAPTURED);
    assertThat(captured.getHold().getCapturedAmount()).isEqualTo(25);
    assertThat(captured.getAccount().getBalance()).isEqualTo(75);
    assertThat(captured.getAccount().getHeld()).isZero();

    assertRejected(() -> node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setHoldId(holdId).build()), Code.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE");
    assertRejected(() -> node.stub.releaseHold(ReleaseHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setHoldId(holdId).build()), Code.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE");
    assertThat(node.account(tenant, "h").getBalance()).isEqualTo(75);
  }

  @Test
  void hold_releaseAndUnknown() {
    String tenant = tenant();
    node.open(tenant, "r", 10);
    String holdId = node.stub.createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId("r").setAmount(10).setTimeoutSeconds(60).build()).getHold().getHoldId();
    assertRejected(() -> node.stub.releaseHold(ReleaseHoldRequest.newBuilder().setRequestId(id())
        .setTenantId("other").setHoldId(holdId).build()), Code.NOT_FOUND, "HOLD_NOT_FOUND");
    var released = node.stub.releaseHold(ReleaseHoldRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setHoldId(holdId).build());
    assertThat(released.getHold().getState()).isEqualTo(HoldState.HOLD_STATE_RELEASED);
    assertThat(released.getAccount().getAvailable()).isEqualTo(10);
    assertRejected(() -> node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id())
        .setTenantId(tenant).setHoldId("hold-missing").build()), Code.NOT_FOUND, "HOLD_NOT_FOUND");
  }

  @Test
  void hold_capturedInFull_whenAmountUnset() {
    String tenant = tenant();
    node.open(tenant, "f", 10);
    String holdId = node.stub.createHold(CreateHoldRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId("f").setAmount(7).setTimeoutSeconds(60).build()).getHold().getHoldId();
    var captured = node.stub.captureHold(CaptureHoldRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setHoldId(holdId).build());
    assertThat(captured.getHold().getCapturedAmount()).isEqualTo(7);
    assertThat(captured.getAccount().getBalance()).isEqualTo(3);
  }

  @Test
  void idempotency_sameBodyReplays_differentBodyRefused_rejectionNotRecorded() {
    String tenant = tenant();
    node.open(tenant, "i", 100);
    ConsumeRequest consume = ConsumeRequest.newBuilder().setRequestId("same").setTenantId(tenant)
        .setAccountId("i").setAmount(10).build();
    ConsumeResponse first = node.stub.consume(consume);
    ConsumeResponse again = node.stub.consume(consume);
    assertThat(again).isEqualTo(first);
    assertThat(node.account(tenant, "i").getBalance()).isEqualTo(90);
    assertRejected(() -> node.stub.consume(consume.toBuilder().setAmount(11).build()), Code.ALREADY_EXISTS,
        "REQUEST_ID_REUSED");
    assertRejected(() -> node.stub.deposit(DepositRequest.newBuilder().setRequestId("same").setTenantId(tenant)
        .setAccountId("i").setAmount(10).build()), Code.ALREADY_EXISTS, "REQUEST_ID_REUSED");

    ConsumeRequest tooMuch = consume.toBuilder().setRequestId("later").setAmount(500).build();
    assertRejected(() -> node.stub.consume(tooMuch), Code.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
    node.stub.deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setAccountId("i")
        .setAmount(1000).build());
    assertThat(node.stub.consume(tooMuch).getAccount().getBalance()).isEqualTo(590);
  }

  @Test
  void getOperation_returnsRecordedResponse_orNotFound() {
    String tenant = tenant();
    node.open(tenant, "o", 100);
    ConsumeResponse r = node.stub.consume(ConsumeRequest.newBuilder().setRequestId("op-1").setTenantId(tenant)
        .setAccountId("o").setAmount(1).build());
    Operation op = node.stub.getOperation(GetOperationRequest.newBuilder().setTenantId(tenant).setAccountId("o")
        .setRequestId("op-1").build()).getOperation();
    assertThat(op.getConsume()).isEqualTo(r);
    assertThat(op.getRequestId()).isEqualTo("op-1");
    assertRejected(() -> node.stub.getOperation(GetOperationRequest.newBuilder().setTenantId("other")
        .setAccountId("o").setRequestId("op-1").build()), Code.NOT_FOUND, "OPERATION_NOT_FOUND");
    assertRejected(() -> node.stub.getOperation(GetOperationRequest.newBuilder().setTenantId(tenant)
        .setAccountId("o").setRequestId("never-sent").build()), Code.NOT_FOUND, "OPERATION_NOT_FOUND");
    node.open(tenant, "o2", 0);
    assertRejected(() -> node.stub.getOperation(GetOperationRequest.newBuilder().setTenantId(tenant)
        .setAccountId("o2").setRequestId("op-1").build()), Code.NOT_FOUND, "OPERATION_NOT_FOUND");
  }

  @Test
  void getAccount_asOfSequence_showsPastBalances() {
    String tenant = tenant();
    node.open(tenant, "asof", 0);
    long s1 = node.stub.deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId("asof").setAmount(100).build()).getEntrySequence();
    long s2 = node.stub.consume(ConsumeRequest.newBuilder().setRequestId(id()).setTenantId(tenant)
        .setAccountId("asof").setAmount(30).build()).getEntrySequence();
    GetAccountRequest.Builder q = GetAccountRequest.newBuilder().setTenantId(tenant).setAccountId("asof");
    assertThat(node.stub.getAccount(q.setAsOfSequence(s1).build()).getAccount().getBalance()).isEqualTo(100);
    assertThat(node.stub.getAccount(q.setAsOfSequence(s2).build()).getAccount().getBalance()).isEqualTo(70);
    assertThat(node.stub.getAccount(q.setAsOfSequence(s1 - 1).build()).getAccount().getBalance()).isZero();
    assertInvalid(() -> node.stub.getAccount(q.setAsOfSequence(s2 + 1_000_000).build()), "as_of_sequence");
    assertInvalid(() -> node.stub.getAccount(q.setAsOfSequence(0).build()), "as_of_sequence");
    String later = tenant();
    node.open(later, "late", 0);
    assertRejected(() -> node.stub.getAccount(GetAccountRequest.newBuilder().setTenantId(later).setAccountId("late")
        .setAsOfSequence(1).build()), Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
  }

  @Test
  void listEntries_pagesInOrder_andFiltersByKind() {
    String tenant = tenant();
    node.open(tenant, "l", 0);
    for (int i = 0; i < 5; i++) {
      node.stub.deposit(DepositRequest.newBuilder().setRequestId(id()).setTenantId(tenant).setAccountId("l")
          .setAmount(10).setMemo("d" + i).build());
    }
    List<Entry> all = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      ListEntriesResponse page = node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
          .setAccountId("l").setPageSize(2).setPageToken(token).build());
      all.addAll(page.getEntriesList());
      token = page.getNextPageToken();
      pages++;
    } while (!token.isEmpty());
    assertThat(pages).isEqualTo(3);
    assertThat(all).hasSize(6);
    assertThat(all).extracting(Entry::getSequence).isSorted();
    assertThat(all.get(0).getKind()).isEqualTo(EntryKind.ENTRY_KIND_ACCOUNT_CREATED);
    assertThat(all.get(5).getBalanceAfter()).isEqualTo(50);
    assertThat(all.get(5).getMemo()).isEqualTo("d4");

    ListEntriesResponse deposits = node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").addKinds(EntryKind.ENTRY_KIND_DEPOSIT).build());
    assertThat(deposits.getEntriesList()).hasSize(5).allMatch(e -> e.getKind() == EntryKind.ENTRY_KIND_DEPOSIT);

    String firstToken = node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").setPageSize(1).build()).getNextPageToken();
    node.open(tenant, "other", 0);
    assertInvalid(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("other").setPageToken(firstToken).build()), "page_token");
    assertInvalid(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").setPageToken("garbage!").build()), "page_token");
    assertInvalid(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").setPageSize(-1).build()), "page_size");
    assertInvalid(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").addKinds(EntryKind.ENTRY_KIND_UNSPECIFIED).build()), "kinds");
    assertInvalid(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("l").addKindsValue(99).build()), "kinds");
    assertRejected(() -> node.stub.listEntries(ListEntriesRequest.newBuilder().setTenantId(tenant)
        .setAccountId("missing").build()), Code.NOT_FOUND, "ACCOUNT_NOT_FOUND");
  }

  @Test
  void submitBatch_oneResultPerOperationInOrder_rejectionAffectsNoOther() {
    String tenant = tenant();
    SubmitBatchResponse r = node.stub.submitBatch(SubmitBatchRequest.newBuilder()
        .addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
            .setRequestId(id()).setTenantId(tenant).setAccountId("b")))
        .addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
            .setRequestId(id()).setTenantId(tenant).setAccountId("b").setAmount(50)))
        .addOperations(BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder()
            .setRequestId(id()).setTenantId(tenant).setAccountId("b").setAmount(80)))
        .addOperations(BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder()
            .setRequestId(id()).setTenantId(tenant).setAccountId("b").setAmount(0)))
        .addOperations(BatchOperation.newBuilder())
        .addOperations(BatchOperation.newBuilder().setConsume(ConsumeRequest.newBuilder()
            .setRequestId(id()).setTenantId(tenant).setAccountId("b").setAmount(20)))
        .build());
    List<BatchResult> results = r.getResultsList();
    assertThat(results).hasSize(6);
    assertThat(results.get(0).hasCreateAccount()).isTrue();
    assertThat(results.get(1).getDeposit().getAccount().getBalance()).isEqualTo(50);
    assertThat(results.get(2).getError().getReason()).isEqualTo("INSUFFICIENT_FUNDS");
    assertThat(results.get(2).getError().getCode()).isEqualTo(Code.FAILED_PRECONDITION.value());
    assertThat(results.get(3).getError().getReason()).isEqualTo("INVALID_FIELD");
    assertThat(results.get(3).getError().getMetadataMap()).containsEntry("field", "operations[3].consume.amount");
    assertThat(results.get(4).getError().getMetadataMap()).containsEntry("field", "operations[4].operation");
    assertThat(results.get(5).getConsume().getAccount().getBalance()).isEqualTo(30);
    assertThat(node.account(tenant, "b").getBalance()).isEqualTo(30);

    assertInvalid(() -> node.stub.submitBatch(SubmitBatchRequest.getDefaultInstance()), "operations");
  }

  @Test
  void verifyJournal_cleanJournal_ok() {
    node.open(tenant(), "v", 10);
    var report = node.stub.verifyJournal(VerifyJournalRequest.getDefaultInstance());
    assertThat(report.getOk()).as(report.getProblem()).isTrue();
    assertThat(report.getEntriesChecked()).isPositive();
    assertThat(report.getAccountsChecked()).isPositive();
    assertThat(report.getFirstBadSequence()).isZero();
  }
}
