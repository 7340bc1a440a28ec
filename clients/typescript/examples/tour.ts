// A tour of the ledger through the TypeScript SDK, as an application would use it: two accounts on
// different nodes, a deposit, a cross-node transfer, a refused overdraft with its typed reason, a
// hold, a mutation under your own request_id resolved after the fact, and the conservation check.
//
// With the local cluster running (deploy/local/run), from clients/typescript:
//
//   npx tsx examples/tour.ts
//
// FORTRESS_ADDRESS (default 127.0.0.1:50051), FORTRESS_TOKEN (default: the contents of
// FORTRESS_TOKEN_FILE, else .fortress/cluster/dev-token at the repository root) and FORTRESS_TENANT
// (default acme) say where and as whom. The token needs the admin role for the ring and the totals.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Effect, ErrorReason, FortressClient, FortressError, OutcomeUnknownError, type Account } from "../src/index.js";

const address = process.env["FORTRESS_ADDRESS"] ?? "127.0.0.1:50051";
const tenant = process.env["FORTRESS_TENANT"] ?? "acme";
const tokenFile = process.env["FORTRESS_TOKEN_FILE"]
  ?? fileURLToPath(new URL("../../../.fortress/cluster/dev-token", import.meta.url));
const token = process.env["FORTRESS_TOKEN"] ?? readFileSync(tokenFile, "utf8").trim();

const ledger = new FortressClient({ address, tenant, token });
try {
  await tour(ledger);
} catch (e) {
  console.error(`tour failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  ledger.close();
}

async function tour(ledger: FortressClient): Promise<void> {
  console.log(`tenant ${tenant} on ${address}`);
  const run = randomUUID().slice(0, 6);

  // Pick two account names that the ring places on different nodes: alice, and the first of 32
  // candidates for bob that lives elsewhere (with 2 nodes or more, all 32 on alice's node is a
  // chance of 2^-32 at most).
  const alice = `alice-${run}`;
  const candidates = Array.from({ length: 32 }, (_, i) => `bob-${run}-${i}`);
  const placed = await ledger.placements(alice, ...candidates);
  const bob = candidates.find((n) => placed.get(n) !== placed.get(alice));
  if (bob === undefined) {
    throw new Error("every account landed on one node; is this a cluster?");
  }
  console.log(`${alice} lives on ${placed.get(alice)}, ${bob} on ${placed.get(bob)}`);

  await ledger.createAccount(alice);
  await ledger.createAccount(bob);
  const deposited = await ledger.deposit(alice, 1000);
  console.log(`deposit 1000 to ${alice}: balance ${deposited.account?.balance}`);

  const moved = await ledger.transfer(alice, bob, 250);
  console.log(`transfer 250 ${alice} -> ${bob} (two-phase commit ${moved.transferId}): ${alice} balance ${moved.fromAccount?.balance}`);
  const credited = await awaitBalance(ledger, bob, 250n);
  console.log(`${bob} balance ${credited.balance}`);

  // A refusal is a FortressError whose reason is the contract's enum; it changed nothing.
  try {
    await ledger.consume(bob, 10_000);
  } catch (e) {
    if (!(e instanceof FortressError) || e.ledgerReason !== ErrorReason.INSUFFICIENT_FUNDS) {
      throw e;
    }
    console.log(`consume 10000 from ${bob} refused: ${ErrorReason[e.ledgerReason]} (available ${e.metadata["available"]}, `
      + `effect ${Effect[e.effect]})`);
  }

  const hold = await ledger.createHold(alice, 100, 300);
  console.log(`hold 100 on ${alice}: available ${hold.account?.available}`);
  const captured = await ledger.captureHold(hold.hold?.holdId ?? "", 60);
  console.log(`capture 60 of it: ${alice} balance ${captured.account?.balance}, held ${captured.account?.held}`);

  // Uncertain outcomes: the client resolves a lost answer through GetOperation by itself. If it
  // cannot before its retries run out, OutcomeUnknownError names the request_id: look it up later
  // (or send the same request with the same request_id again, which the ledger applies at most once).
  const requestId = `tour-${run}`;
  try {
    await ledger.deposit({ accountId: alice, amount: 5n, requestId });
  } catch (e) {
    if (!(e instanceof OutcomeUnknownError)) {
      throw e;
    }
    console.log(`deposit ${e.requestId}: outcome unknown for now`);
  }
  const recorded = await ledger.getOperation(alice, requestId);
  console.log(`request ${requestId} recorded: ${recorded?.response.case ?? "no, it never took effect"}`);

  const totals = await ledger.clusterTotals();
  console.log(`cluster: balance ${totals.balance} + in flight ${totals.inFlightCredit} = deposited ${totals.deposited} `
    + `- consumed ${totals.consumed}: conserved ${totals.conserved}`);
}

/** A cross-node credit lands once the participant commits, moments after the transfer returns. */
async function awaitBalance(ledger: FortressClient, accountId: string, expected: bigint): Promise<Account> {
  const deadline = Date.now() + 10_000;
  let account = await ledger.getAccount(accountId);
  while (account.balance !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    account = await ledger.getAccount(accountId);
  }
  return account;
}
