// The retry rules against a fake LedgerService over a real HTTP/2 connection: what is sent again,
// what is looked up first, what is thrown at once, and the deadlines.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import {
  Code,
  Effect,
  ErrorReason,
  FortressClient,
  FortressError,
  OutcomeUnknownError,
  ledgerReasonName,
  type FortressClientOptions,
} from "../src/index.js";
import { FakeLedger, NOT_FOUND, refusal } from "./support/fake-ledger.js";
import { rejection } from "./support/rejection.js";

const CALL_TIMEOUT_MS = 2_000;

let fake: FakeLedger;
let ledger: FortressClient;

async function open(options: Partial<FortressClientOptions> = {}): Promise<void> {
  const address = await fake.start();
  ledger = new FortressClient({
    address, tenant: "acme", callTimeoutMs: CALL_TIMEOUT_MS, retryTimeoutMs: 10_000, backoffInitialMs: 5, backoffMaxMs: 20,
    ...options,
  });
}

const deposited = (balance: bigint) => ({ ok: { account: { accountId: "a", balance }, entrySequence: 7n } });

describe("FortressClient retries", () => {
  beforeEach(() => {
    fake = new FakeLedger();
  });
  afterEach(async () => {
    ledger?.close();
    await fake.stop();
  });

  test("deposit_certainRetryableRefusals_sentAgainWithSameRequestIdAndNoLookup", async () => {
    await open();
    fake.deposit = [
      { fail: refusal(ErrorReason.WRITER_QUEUE_FULL) },
      { fail: refusal(ErrorReason.STORAGE_UNAVAILABLE) },
      { fail: refusal(ErrorReason.SHUTTING_DOWN) },
      deposited(10n),
    ];
    const response = await ledger.deposit("a", 10);
    assert.equal(response.account?.balance, 10n);
    assert.deepEqual(fake.methods(), ["Deposit", "Deposit", "Deposit", "Deposit"]);
    assert.equal(new Set(fake.calls.map((c) => c.requestId)).size, 1);
    assert.match(fake.calls[0]!.requestId, /^[0-9a-f-]{36}$/, "a fresh UUID when the caller gives none");
  });

  test("deposit_rateLimitedWithRetryInfo_waitsAtLeastTheServersDelay", async () => {
    await open();
    fake.deposit = [{ fail: refusal(ErrorReason.RATE_LIMITED, { retryDelayMs: 300 }) }, deposited(10n)];
    const started = performance.now();
    await ledger.deposit("a", 10);
    assert.ok(performance.now() - started >= 290, "the backoff honours RetryInfo");
    assert.deepEqual(fake.methods(), ["Deposit", "Deposit"]);
  });

  test("deposit_uncertainReason_answeredFromTheRecordWithoutSendingAgain", async () => {
    await open();
    fake.deposit = [{ fail: refusal(ErrorReason.NODE_UNAVAILABLE) }];
    fake.getOperation = [{ ok: { requestId: "r1", response: { case: "deposit", value: deposited(42n).ok } } }];
    const response = await ledger.deposit({ accountId: "a", amount: 42n, requestId: "r1" });
    assert.equal(response.account?.balance, 42n);
    assert.deepEqual(fake.methods(), ["Deposit", "GetOperation"]);
    const scope = fake.calls[1]!.scope!;
    assert.deepEqual([scope.tenantId, scope.accountId, scope.holdId, scope.requestId], ["acme", "a", "", "r1"]);
  });

  test("deposit_uncertainThenNotFound_sentAgainWithSameRequestId", async () => {
    await open();
    fake.deposit = [{ fail: refusal(ErrorReason.OUTCOME_UNKNOWN) }, deposited(5n)];
    fake.getOperation = [NOT_FOUND];
    await ledger.deposit({ accountId: "a", amount: 5n, requestId: "r2" });
    assert.deepEqual(fake.methods(), ["Deposit", "GetOperation", "Deposit"]);
    assert.deepEqual(fake.calls.map((c) => c.requestId), ["r2", "r2", "r2"]);
  });

  test("transfer_stillBeingDecided_asksAgainInTheSendersScopeUntilRecorded", async () => {
    await open();
    fake.transfer = [{ fail: refusal(ErrorReason.TRANSFER_IN_PROGRESS) }];
    fake.getOperation = [
      { fail: refusal(ErrorReason.TRANSFER_IN_PROGRESS) },
      { ok: { response: { case: "transfer", value: { transferId: "tx-1" } } } },
    ];
    const moved = await ledger.transfer("from", "to", 3);
    assert.equal(moved.transferId, "tx-1");
    assert.deepEqual(fake.methods(), ["Transfer", "GetOperation", "GetOperation"]);
    assert.equal(fake.calls[1]!.scope!.accountId, "from");
  });

  test("deposit_recordedAsAnotherKind_sentAgainForTheServerToJudge", async () => {
    await open();
    fake.deposit = [{ fail: refusal(ErrorReason.NODE_UNAVAILABLE) }, { fail: refusal(ErrorReason.REQUEST_ID_REUSED) }];
    fake.getOperation = [{ ok: { response: { case: "consume", value: {} } } }];
    const e = await rejection(ledger.deposit({ accountId: "a", amount: 1n, requestId: "r3" }));
    assert.ok(e instanceof OutcomeUnknownError, "a refusal after an uncertain attempt does not settle it");
    assert.equal(e.last.ledgerReason, ErrorReason.REQUEST_ID_REUSED);
    assert.deepEqual(fake.methods(), ["Deposit", "GetOperation", "Deposit"]);
  });

  test("transfer_inProgressThenAborted_theAbortIsTheRecordedOutcome", async () => {
    await open();
    fake.transfer = [{ fail: refusal(ErrorReason.TRANSFER_IN_PROGRESS) }, { fail: refusal(ErrorReason.TRANSFER_ABORTED) }];
    fake.getOperation = [NOT_FOUND];
    const e = await rejection(ledger.transfer("a", "b", 5));
    assert.ok(!(e instanceof OutcomeUnknownError), "the abort settles the transfer");
    assert.equal(e.ledgerReason, ErrorReason.TRANSFER_ABORTED);
    assert.deepEqual(fake.methods(), ["Transfer", "GetOperation", "Transfer"]);
  });

  test("deposit_uncertainThenTheLookupRefused_staysOutcomeUnknown", async () => {
    await open();
    fake.deposit = [{ fail: refusal(ErrorReason.OUTCOME_UNKNOWN) }];
    fake.getOperation = [{ fail: refusal(ErrorReason.INVALID_FIELD) }];
    const e = await rejection(ledger.deposit({ accountId: "a", amount: 1n, requestId: "r5" }));
    assert.ok(e instanceof OutcomeUnknownError);
    assert.equal(e.effect, Effect.UNKNOWN);
    assert.equal(e.last.ledgerReason, ErrorReason.INVALID_FIELD);
    assert.deepEqual(fake.methods(), ["Deposit", "GetOperation"]);
  });

  test("submitBatch_uncertainThenRefused_outcomeUnknown_andCertainRefusalsKept", async () => {
    await open({ maxAttempts: 3 });
    const error = (code: Code, reason: ErrorReason) =>
      ({ result: { case: "error" as const, value: { code, reason: ledgerReasonName(reason) } } });
    fake.submitBatch = [
      { ok: { results: [error(Code.Unavailable, ErrorReason.OUTCOME_UNKNOWN), error(Code.ResourceExhausted, ErrorReason.WRITER_QUEUE_FULL)] } },
      { ok: { results: [error(Code.FailedPrecondition, ErrorReason.INSUFFICIENT_FUNDS), error(Code.ResourceExhausted, ErrorReason.WRITER_QUEUE_FULL)] } },
      { ok: { results: [error(Code.ResourceExhausted, ErrorReason.WRITER_QUEUE_FULL)] } },
    ];
    const response = await ledger.submitBatch([
      { operation: { case: "consume", value: { accountId: "a", amount: 5n } } },
      { operation: { case: "consume", value: { accountId: "a", amount: 6n } } },
    ]);
    const reasons = response.results.map((r) => (r.result.case === "error" ? r.result.value.reason : r.result.case));
    assert.deepEqual(reasons, [ledgerReasonName(ErrorReason.OUTCOME_UNKNOWN), ledgerReasonName(ErrorReason.WRITER_QUEUE_FULL)]);
  });

  test("deposit_uncertainUntilTheAttemptsRunOut_outcomeUnknownWithTheRequestId", async () => {
    await open({ maxAttempts: 3 });
    fake.deposit = [{ fail: refusal(ErrorReason.NODE_UNAVAILABLE) }];
    fake.getOperation = [{ fail: refusal(ErrorReason.NODE_UNAVAILABLE) }];
    const e = await rejection(ledger.deposit({ accountId: "a", amount: 1n, requestId: "r4" }));
    assert.ok(e instanceof OutcomeUnknownError);
    assert.equal(e.requestId, "r4");
    assert.equal(e.effect, Effect.UNKNOWN);
    assert.equal(e.last.ledgerReason, ErrorReason.NODE_UNAVAILABLE);
    assert.deepEqual(fake.methods(), ["Deposit", "GetOperation", "GetOperation"], "never sent again without a NOT_FOUND");
  });

  test("consume_certainRefusal_thrownAtOnce", async () => {
    await open();
    fake.consume = [{ fail: refusal(ErrorReason.INSUFFICIENT_FUNDS) }];
    const e = await rejection(ledger.consume("a", 1000));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.ledgerReason, ErrorReason.INSUFFICIENT_FUNDS);
    assert.ok(!(e instanceof OutcomeUnknownError));
    assert.deepEqual(fake.methods(), ["Consume"]);
  });

  test("getAccount_unavailableThenAnswered_retried", async () => {
    await open();
    fake.getAccount = [
      { fail: refusal(ErrorReason.NODE_UNAVAILABLE) },
      { fail: refusal(ErrorReason.RATE_LIMITED) },
      { ok: { account: { accountId: "a", balance: 3n } } },
    ];
    assert.equal((await ledger.getAccount("a")).balance, 3n);
    assert.deepEqual(fake.methods(), ["GetAccount", "GetAccount", "GetAccount"]);
  });

  test("getAccount_notFound_thrownAtOnce", async () => {
    await open();
    fake.getAccount = [{ fail: refusal(ErrorReason.ACCOUNT_NOT_FOUND) }];
    const e = await rejection(ledger.getAccount("a"));
    assert.equal(e.ledgerReason, ErrorReason.ACCOUNT_NOT_FOUND);
    assert.deepEqual(fake.methods(), ["GetAccount"]);
  });

  test("getAccount_slowServer_everyAttemptHasADeadlineAndAllStopWithinRetryTimeout", async () => {
    await open({ callTimeoutMs: 200, retryTimeoutMs: 700, maxAttempts: 100 });
    fake.getAccount = [{ delayMs: 1_000, then: { ok: { account: {} } } }];
    const started = performance.now();
    const e = await rejection(ledger.getAccount("a"));
    const elapsed = performance.now() - started;
    assert.equal(e.code, Code.DeadlineExceeded);
    assert.ok(fake.calls.length >= 2, `retried: ${fake.calls.length} attempts`);
    assert.ok(fake.calls.every((c) => c.timeoutMs !== undefined && c.timeoutMs <= 200), "each attempt sent a deadline");
    assert.ok(elapsed < 3_000, `stopped at the overall deadline, not after 100 attempts: ${Math.round(elapsed)} ms`);
  });

  test("submitBatch_oneOperationRefusedRetryably_onlyThatOneSentAgainWithItsId", async () => {
    await open();
    fake.submitBatch = [
      {
        ok: {
          results: [
            { result: { case: "deposit", value: {} } },
            { result: { case: "error", value: { code: Code.ResourceExhausted, reason: ledgerReasonName(ErrorReason.WRITER_QUEUE_FULL) } } },
            { result: { case: "error", value: { code: Code.FailedPrecondition, reason: ledgerReasonName(ErrorReason.INSUFFICIENT_FUNDS) } } },
          ],
        },
      },
      { ok: { results: [{ result: { case: "consume", value: {} } }] } },
    ];
    const response = await ledger.submitBatch([
      { operation: { case: "deposit", value: { accountId: "a", amount: 1n } } },
      { operation: { case: "consume", value: { accountId: "a", amount: 1n } } },
      { operation: { case: "consume", value: { accountId: "a", amount: 99n } } },
    ]);
    assert.deepEqual(response.results.map((r) => r.result.case), ["deposit", "consume", "error"]);
    const [first, second] = fake.batches;
    assert.equal(second?.operations.length, 1);
    const sentFirst = first?.operations[1]?.operation;
    const sentAgain = second?.operations[0]?.operation;
    assert.equal(sentFirst?.case, "consume");
    assert.equal(sentAgain?.case === "consume" && sentAgain.value.requestId, sentFirst?.case === "consume" && sentFirst.value.requestId);
    assert.ok(first?.operations.every((op) => op.operation.value?.tenantId === "acme"));
  });
});
