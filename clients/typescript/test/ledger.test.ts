// The SDK against a real local cluster: three ledger nodes behind the shard proxy, started here.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import type { Interceptor } from "@connectrpc/connect";
import {
  AuthErrorReason,
  Code,
  Effect,
  EntryKind,
  ErrorReason,
  FortressClient,
  FortressError,
  OutcomeUnknownError,
  type Account,
  type FortressClientOptions,
} from "../src/index.js";
import { LocalCluster } from "./support/cluster.js";
import { rejection } from "./support/rejection.js";
import { FaultHop } from "./support/fault-hop.js";

const CLUSTER_START_TIMEOUT_MS = 300_000;
/** How long a cross-node credit may take to land after its transfer returned. */
const CREDIT_WAIT_MS = 10_000;

let cluster: LocalCluster;
const clients: FortressClient[] = [];
const hops: FaultHop[] = [];

/** A client of the test cluster (or of `address`, e.g. a fault hop in front of it). */
function client(options: Partial<FortressClientOptions> = {}): FortressClient {
  const c = new FortressClient({ address: cluster.proxyAddress, tenant: "acme", token: cluster.token, ...options });
  clients.push(c);
  return c;
}

async function hop(): Promise<FaultHop> {
  const h = await FaultHop.start(cluster.proxyAddress);
  hops.push(h);
  return h;
}

/** Records each attempt's method and request_id as it leaves the client. */
function recorder(): { calls: string[]; requestIds: string[]; interceptor: Interceptor } {
  const calls: string[] = [];
  const requestIds: string[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    calls.push(req.method.name);
    if (!req.stream && "requestId" in req.message) {
      requestIds.push(String(req.message.requestId));
    }
    return next(req);
  };
  return { calls, requestIds, interceptor };
}

function fresh(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

async function funded(ledger: FortressClient, amount: bigint, name = "acct"): Promise<string> {
  const id = fresh(name);
  await ledger.createAccount(id);
  if (amount > 0n) {
    await ledger.deposit(id, amount);
  }
  return id;
}

/** Two fresh account names that the ring places on different nodes. */
async function onTwoNodes(ledger: FortressClient): Promise<[string, string]> {
  const names = Array.from({ length: 12 }, (_, i) => fresh(`n${i}`));
  const placed = await ledger.placements(...names);
  const first = names[0]!;
  const other = names.find((n) => placed.get(n) !== placed.get(first));
  assert.ok(other !== undefined, `every account landed on ${placed.get(first)}`);
  return [first, other];
}

async function awaitBalance(ledger: FortressClient, accountId: string, expected: bigint): Promise<Account> {
  const deadline = Date.now() + CREDIT_WAIT_MS;
  let account = await ledger.getAccount(accountId);
  while (account.balance !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    account = await ledger.getAccount(accountId);
  }
  return account;
}

describe("FortressClient against a local cluster", () => {
  before(async () => {
    cluster = await LocalCluster.start();
  }, { timeout: CLUSTER_START_TIMEOUT_MS });

  after(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(hops.map((h) => h.close()));
    await cluster?.stop();
  }, { timeout: 90_000 });

  test("mutations_happyPath_balancesJournalAndHoldsAgree", async () => {
    const ledger = client();
    const id = fresh("happy");
    const opened = await ledger.createAccount(id);
    assert.equal(opened.balance, 0n);
    assert.equal(opened.tenantId, "acme");
    assert.equal((await ledger.deposit(id, 100)).account?.balance, 100n);
    assert.equal((await ledger.consume(id, 30n)).account?.balance, 70n);
    const hold = await ledger.createHold(id, 20, 300);
    assert.equal(hold.account?.available, 50n);
    const captured = await ledger.captureHold(hold.hold!.holdId, 15);
    assert.deepEqual([captured.account?.balance, captured.account?.held], [55n, 0n]);
    const second = await ledger.createHold(id, 5, 300);
    const released = await ledger.releaseHold(second.hold!.holdId);
    assert.deepEqual([released.account?.available, released.account?.held], [55n, 0n]);

    const account = await ledger.getAccount(id);
    assert.deepEqual([account.balance, account.held, account.available], [55n, 0n, 55n]);
    const entries = await ledger.listEntries({ accountId: id, pageSize: 100 });
    assert.deepEqual(entries.entries.map((e) => e.kind), [
      EntryKind.ACCOUNT_CREATED, EntryKind.DEPOSIT, EntryKind.CONSUME, EntryKind.HOLD_CREATED,
      EntryKind.HOLD_CAPTURED, EntryKind.HOLD_RELEASED, EntryKind.HOLD_CREATED, EntryKind.HOLD_RELEASED,
    ]);
    assert.equal(entries.entries.at(-1)?.balanceAfter, 55n);
  });

  test("consume_overdraft_refusedWithInsufficientFundsAndBalanceUnchanged", async () => {
    const ledger = client();
    const id = await funded(ledger, 70n);
    const e = await rejection(ledger.consume(id, 1000));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.ledgerReason, ErrorReason.INSUFFICIENT_FUNDS);
    assert.equal(e.effect, Effect.NONE);
    assert.equal(e.metadata["available"], "70");
    assert.ok(e.requestId !== "", "a mutation's error names its request_id");
    assert.equal((await ledger.getAccount(id)).balance, 70n);
  });

  test("deposit_invalidField_namesTheField", async () => {
    const ledger = client();
    const id = await funded(ledger, 0n);
    const e = await rejection(ledger.deposit(id, 0));
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(e.ledgerReason, ErrorReason.INVALID_FIELD);
    assert.equal(e.field, "amount");
    assert.deepEqual(e.fieldViolations.map((v) => v.field), ["amount"]);

    const badId = await rejection(client().createAccount("not an id!"));
    assert.equal(badId.ledgerReason, ErrorReason.INVALID_FIELD);
    assert.equal(badId.field, "account_id");
  });

  test("call_missingOrInvalidToken_refusedWithAuthReason", async () => {
    const missing = await rejection(client({ token: undefined }).getAccount("anything"));
    assert.equal(missing.code, Code.Unauthenticated);
    assert.equal(missing.authReason, AuthErrorReason.TOKEN_MISSING);
    assert.equal(missing.ledgerReason, undefined);

    const forged = await rejection(client({ token: `${cluster.token.slice(0, -4)}AAAA` }).deposit("anything", 1));
    assert.equal(forged.code, Code.Unauthenticated);
    assert.equal(forged.authReason, AuthErrorReason.TOKEN_INVALID);
    assert.equal(forged.effect, Effect.NONE);

    const otherTenant = await rejection(client({ tenant: "globex" }).getAccount("anything"));
    assert.equal(otherTenant.code, Code.PermissionDenied);
    assert.equal(otherTenant.authReason, AuthErrorReason.TENANT_FORBIDDEN);
  });

  test("deposit_sameRequestId_replaysOriginalAndDifferentBodyIsRefused", async () => {
    const ledger = client();
    const id = await funded(ledger, 0n);
    const requestId = fresh("replay");
    const first = await ledger.deposit({ accountId: id, amount: 40n, requestId });
    const again = await ledger.deposit({ accountId: id, amount: 40n, requestId });
    assert.equal(again.entrySequence, first.entrySequence);
    assert.equal((await ledger.getAccount(id)).balance, 40n);

    const reused = await rejection(ledger.deposit({ accountId: id, amount: 41n, requestId }));
    assert.equal(reused.code, Code.AlreadyExists);
    assert.equal(reused.ledgerReason, ErrorReason.REQUEST_ID_REUSED);
    assert.equal(reused.requestId, requestId);
    const recorded = await ledger.getOperation(id, requestId);
    assert.equal(recorded?.response.case, "deposit");
    assert.equal(await ledger.getOperation(id, fresh("never-sent")), undefined);
  });

  test("transfer_acrossNodes_movesCreditsAndConserves", async () => {
    const ledger = client();
    const [from, to] = await onTwoNodes(ledger);
    await ledger.createAccount(from);
    await ledger.createAccount(to);
    await ledger.deposit(from, 500);
    const moved = await ledger.transfer(from, to, 200);
    assert.ok(moved.transferId.startsWith("tx-"), `a cross-node transfer runs two-phase commit: ${moved.transferId}`);
    assert.equal(moved.fromAccount?.balance, 300n);
    assert.equal((await awaitBalance(ledger, to, 200n)).balance, 200n);
    const overdraft = await rejection(ledger.transfer(from, to, 10_000));
    assert.equal(overdraft.ledgerReason, ErrorReason.INSUFFICIENT_FUNDS);
    assert.equal((await ledger.getAccount(from)).balance, 300n);
    assert.equal((await ledger.clusterTotals()).conserved, true);
  });

  test("deposit_responseLostAfterCommit_resolvedThroughGetOperation", async () => {
    const h = await hop();
    const seen = recorder();
    const ledger = client({ address: h.address, interceptors: [seen.interceptor] });
    const id = await funded(ledger, 10n);
    seen.calls.length = 0;

    h.cutResponses(1);
    const response = await ledger.deposit(id, 25);

    assert.equal(h.cuts, 1);
    assert.deepEqual(seen.calls, ["Deposit", "GetOperation"], "answered from the record, not sent again");
    assert.equal(response.account?.balance, 35n);
    assert.equal((await ledger.getAccount(id)).balance, 35n);
    const deposits = (await ledger.listEntries({ accountId: id, kinds: [EntryKind.DEPOSIT] })).entries;
    assert.deepEqual(deposits.map((e) => e.amount), [10n, 25n], "moved exactly once");
    assert.equal(deposits[1]?.sequence, response.entrySequence);
  });

  test("transferAndCapture_responseLostAfterCommit_resolvedInTheirScope", async () => {
    const h = await hop();
    const seen = recorder();
    const ledger = client({ address: h.address, interceptors: [seen.interceptor] });
    const [from, to] = await onTwoNodes(ledger);
    await ledger.createAccount(from);
    await ledger.createAccount(to);
    await ledger.deposit(from, 100);
    const hold = await ledger.createHold(from, 30, 300);

    seen.calls.length = 0;
    h.cutResponses(1);
    const moved = await ledger.transfer(from, to, 40);
    assert.deepEqual(seen.calls, ["Transfer", "GetOperation"]);
    assert.equal(moved.fromAccount?.balance, 60n);

    seen.calls.length = 0;
    h.cutResponses(1);
    const captured = await ledger.captureHold(hold.hold!.holdId, 20);
    assert.deepEqual(seen.calls, ["CaptureHold", "GetOperation"]);
    assert.equal(captured.account?.balance, 40n);

    assert.equal(h.cuts, 2);
    assert.equal((await ledger.getAccount(from)).balance, 40n);
    assert.equal((await awaitBalance(ledger, to, 40n)).balance, 40n);
  });

  test("deposit_requestLostBeforeServer_notFoundThenSentAgainWithSameRequestId", async () => {
    const h = await hop();
    const seen = recorder();
    const ledger = client({ address: h.address, interceptors: [seen.interceptor] });
    const id = await funded(ledger, 0n);
    seen.calls.length = 0;
    seen.requestIds.length = 0;

    h.cutRequests(1);
    const response = await ledger.deposit(id, 7);

    assert.deepEqual(seen.calls, ["Deposit", "GetOperation", "Deposit"]);
    assert.equal(new Set(seen.requestIds).size, 1, `one request_id throughout: ${seen.requestIds.join(", ")}`);
    assert.equal(response.account?.balance, 7n);
    assert.equal((await ledger.getAccount(id)).balance, 7n);
  });

  test("deposit_everyAnswerLost_outcomeUnknownNamesTheRequestId", async () => {
    const h = await hop();
    const ledger = client({ address: h.address, retryTimeoutMs: 3_000, maxAttempts: 4 });
    const id = await funded(ledger, 0n);
    const requestId = fresh("lost");

    h.cutResponses(Number.MAX_SAFE_INTEGER);
    const e = await rejection(ledger.deposit({ accountId: id, amount: 9n, requestId }));
    h.disarm();

    assert.ok(e instanceof OutcomeUnknownError, `expected OutcomeUnknownError, got ${e.name}: ${e.message}`);
    assert.equal(e.requestId, requestId);
    assert.equal(e.effect, Effect.UNKNOWN);
    // It did take effect, once: the first answer was lost after the commit.
    const direct = client();
    assert.equal((await direct.getOperation(id, requestId))?.response.case, "deposit");
    assert.equal((await direct.getAccount(id)).balance, 9n);
  });

  test("submitBatch_mixedOperations_oneResultEachWithTypedErrors", async () => {
    const ledger = client();
    const id = await funded(ledger, 0n);
    const response = await ledger.submitBatch([
      { operation: { case: "deposit", value: { accountId: id, amount: 50n } } },
      { operation: { case: "consume", value: { accountId: id, amount: 20n } } },
      { operation: { case: "consume", value: { accountId: id, amount: 1000n } } },
    ]);
    const [deposit, consume, overdraft] = response.results;
    assert.equal(deposit?.result.case, "deposit");
    assert.equal(consume?.result.case === "consume" && consume.result.value.account?.balance, 30n);
    assert.equal(overdraft?.result.case, "error");
    if (overdraft?.result.case === "error") {
      const e = FortressError.fromOperationError(overdraft.result.value);
      assert.equal(e.code, Code.FailedPrecondition);
      assert.equal(e.ledgerReason, ErrorReason.INSUFFICIENT_FUNDS);
      assert.equal(e.effect, Effect.NONE);
    }
    assert.equal((await ledger.getAccount(id)).balance, 30n);
  });

  test("tourExample_againstThisCluster_runsToTheEnd", async () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/tour.ts"], {
      cwd: root,
      env: { ...process.env, FORTRESS_ADDRESS: cluster.proxyAddress, FORTRESS_TOKEN: cluster.token, FORTRESS_TENANT: "acme" },
      timeout: 120_000,
    });
    assert.match(stdout, /refused: INSUFFICIENT_FUNDS/);
    assert.match(stdout, /two-phase commit tx-/);
    assert.match(stdout, /recorded: deposit/);
    assert.match(stdout, /conserved true/);
  });
});
