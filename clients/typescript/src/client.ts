// FortressClient: the ledger through the shard proxy (or a single node), over gRPC on HTTP/2.

import { randomUUID } from "node:crypto";
import type { SecureClientSessionOptions } from "node:http2";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import {
  ClusterService,
  type GetClusterTotalsResponse,
  type GetRingResponse,
  type ListInDoubtResponse,
  type VerifyClusterResponse,
} from "./gen/fortress/cluster/v1/cluster_pb.js";
import {
  CaptureHoldRequestSchema,
  ConsumeRequestSchema,
  CreateAccountRequestSchema,
  CreateHoldRequestSchema,
  DepositRequestSchema,
  GetAccountRequestSchema,
  LedgerService,
  ListEntriesRequestSchema,
  ReleaseHoldRequestSchema,
  TransferRequestSchema,
  type Account,
  type CaptureHoldResponse,
  type ConsumeResponse,
  type CreateHoldResponse,
  type DepositResponse,
  type GetOperationRequest,
  type ListEntriesResponse,
  type Operation,
  type ReleaseHoldResponse,
  type SubmitBatchResponse,
  type TransferResponse,
} from "./gen/fortress/ledger/v1/ledger_pb.js";
import { submitBatch, type BatchOperationInit } from "./batch.js";
import { LedgerErrorReason } from "./reasons.js";
import { mutate, read, typed, type RetryPolicy } from "./retry.js";

/** The deadline of each attempt, unless the options say otherwise. */
export const CALL_TIMEOUT_MS_DEFAULT = 10_000;
/** The deadline of all attempts of one call together. */
export const RETRY_TIMEOUT_MS_DEFAULT = 30_000;
/** Attempts per call, the first included. */
export const MAX_ATTEMPTS_DEFAULT = 5;
/** The pause before the first retry; it doubles, with jitter, up to BACKOFF_MAX_MS_DEFAULT. */
export const BACKOFF_INITIAL_MS_DEFAULT = 50;
export const BACKOFF_MAX_MS_DEFAULT = 2_000;

/** How to reach the ledger and how patiently. Only `tenant` and one of `address` and `transport` are required. */
export interface FortressClientOptions {
  /** `host:port` (plaintext HTTP/2 unless `tls` is given), or an `http://` or `https://` URL. */
  address?: string;
  /** A transport you built (interceptors, TLS, a proxy); the client then leaves closing it to you. */
  transport?: Transport;
  /** The tenant every request acts for, unless the request names one. */
  tenant: string;
  /** Sent as `authorization: Bearer <token>` on every call: a JWT naming the tenant (and the admin role, for ClusterService). */
  token?: string;
  /** TLS settings (e.g. `ca`, and `cert` with `key` for mTLS); with them a bare `host:port` is dialled with TLS. */
  tls?: SecureClientSessionOptions;
  /** Interceptors run on every call, after the bearer token is added. */
  interceptors?: Interceptor[];
  callTimeoutMs?: number;
  retryTimeoutMs?: number;
  maxAttempts?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export type CreateAccountRequestInit = MessageInitShape<typeof CreateAccountRequestSchema>;
export type GetAccountRequestInit = MessageInitShape<typeof GetAccountRequestSchema>;
export type ListEntriesRequestInit = MessageInitShape<typeof ListEntriesRequestSchema>;
export type DepositRequestInit = MessageInitShape<typeof DepositRequestSchema>;
export type ConsumeRequestInit = MessageInitShape<typeof ConsumeRequestSchema>;
export type TransferRequestInit = MessageInitShape<typeof TransferRequestSchema>;
export type CreateHoldRequestInit = MessageInitShape<typeof CreateHoldRequestSchema>;
export type CaptureHoldRequestInit = MessageInitShape<typeof CaptureHoldRequestSchema>;
export type ReleaseHoldRequestInit = MessageInitShape<typeof ReleaseHoldRequestSchema>;

/** The response case of an Operation (and of a BatchResult) that each mutation records. */
type Kind = NonNullable<Operation["response"]["case"]>;
type ResponseOf<K extends Kind> = Extract<Operation["response"], { case: K }>["value"];

/**
 * The ledger client. Every mutation gets the client's tenant and a fresh request_id unless the
 * request names them; every attempt has a deadline and all attempts of a call another; failures
 * that may pass later are retried, and a mutation whose outcome is uncertain is resolved through
 * GetOperation before it is sent again (see retry.ts). Failures are FortressError, and a mutation
 * whose outcome could not be learned is OutcomeUnknownError. One client is meant to be shared.
 */
export class FortressClient {
  /** The generated LedgerService client over this client's transport, without deadlines or retries. */
  readonly ledgerService: Client<typeof LedgerService>;
  /** The generated ClusterService client over this client's transport, without deadlines or retries. */
  readonly clusterService: Client<typeof ClusterService>;
  /** The tenant this client acts for. */
  readonly tenant: string;
  private readonly policy: RetryPolicy;
  private readonly sessions: Http2SessionManager | undefined;

  constructor(options: FortressClientOptions) {
    if (!options.tenant?.trim()) {
      throw new TypeError("tenant is required, e.g. acme");
    }
    if ((options.address === undefined) === (options.transport === undefined)) {
      throw new TypeError("give exactly one of address (e.g. 127.0.0.1:50051) and transport");
    }
    if (options.token !== undefined && !options.token.trim()) {
      throw new TypeError("token must not be empty; leave it out to send none");
    }
    this.tenant = options.tenant;
    this.policy = policyOf(options);
    const interceptors = [...(options.token ? [bearer(options.token.trim())] : []), ...(options.interceptors ?? [])];
    let transport = options.transport;
    if (transport === undefined) {
      const url = baseUrl(options.address ?? "", options.tls !== undefined);
      this.sessions = new Http2SessionManager(url, {}, options.tls);
      transport = createGrpcTransport({ baseUrl: url, sessionManager: this.sessions, interceptors });
    } else if (interceptors.length > 0) {
      throw new TypeError("token and interceptors apply to address; put them in the transport you pass");
    }
    this.ledgerService = createClient(LedgerService, transport);
    this.clusterService = createClient(ClusterService, transport);
  }

  /** Closes the connection this client opened; a transport passed in stays open. */
  close(): void {
    this.sessions?.abort();
  }

  // Accounts.

  /** Opens an account with a zero balance. */
  async createAccount(request: string | CreateAccountRequestInit): Promise<Account> {
    const init = typeof request === "string" ? { accountId: request } : request;
    const r = create(CreateAccountRequestSchema, this.fill(init));
    const response = await this.mutate("createAccount", r, { accountId: r.accountId },
      (timeoutMs) => this.ledgerService.createAccount(r, { timeoutMs }));
    return required(response.account, "CreateAccountResponse.account");
  }

  /** The account's balance, held and available credits, now or as of `asOfSequence`. */
  async getAccount(request: string | GetAccountRequestInit): Promise<Account> {
    const init = typeof request === "string" ? { accountId: request } : request;
    const r = create(GetAccountRequestSchema, { ...init, tenantId: init.tenantId || this.tenant });
    const response = await read(this.policy, (timeoutMs) => this.ledgerService.getAccount(r, { timeoutMs }));
    return required(response.account, "GetAccountResponse.account");
  }

  /** One page of an account's journal, oldest first; pass `nextPageToken` as `pageToken` for the next. */
  async listEntries(request: ListEntriesRequestInit): Promise<ListEntriesResponse> {
    const r = create(ListEntriesRequestSchema, { ...request, tenantId: request.tenantId || this.tenant });
    return read(this.policy, (timeoutMs) => this.ledgerService.listEntries(r, { timeoutMs }));
  }

  // Money movement.

  deposit(accountId: string, amount: bigint | number): Promise<DepositResponse>;
  deposit(request: DepositRequestInit): Promise<DepositResponse>;
  async deposit(request: string | DepositRequestInit, amount?: bigint | number): Promise<DepositResponse> {
    const init = typeof request === "string" ? { accountId: request, amount: int64(amount) } : request;
    const r = create(DepositRequestSchema, this.fill(init));
    return this.mutate("deposit", r, { accountId: r.accountId },
      (timeoutMs) => this.ledgerService.deposit(r, { timeoutMs }));
  }

  consume(accountId: string, amount: bigint | number): Promise<ConsumeResponse>;
  consume(request: ConsumeRequestInit): Promise<ConsumeResponse>;
  async consume(request: string | ConsumeRequestInit, amount?: bigint | number): Promise<ConsumeResponse> {
    const init = typeof request === "string" ? { accountId: request, amount: int64(amount) } : request;
    const r = create(ConsumeRequestSchema, this.fill(init));
    return this.mutate("consume", r, { accountId: r.accountId },
      (timeoutMs) => this.ledgerService.consume(r, { timeoutMs }));
  }

  /** Moves credits; across nodes the transfer is atomic (two-phase commit behind the proxy). */
  transfer(fromAccountId: string, toAccountId: string, amount: bigint | number): Promise<TransferResponse>;
  transfer(request: TransferRequestInit): Promise<TransferResponse>;
  async transfer(request: string | TransferRequestInit, to?: string, amount?: bigint | number): Promise<TransferResponse> {
    const init = typeof request === "string"
      ? { fromAccountId: request, toAccountId: to ?? "", amount: int64(amount) }
      : request;
    const r = create(TransferRequestSchema, this.fill(init));
    return this.mutate("transfer", r, { accountId: r.fromAccountId },
      (timeoutMs) => this.ledgerService.transfer(r, { timeoutMs }));
  }

  // Holds.

  /** Reserves credits for `timeoutSeconds`; a hold that expires is released. */
  createHold(accountId: string, amount: bigint | number, timeoutSeconds: bigint | number): Promise<CreateHoldResponse>;
  createHold(request: CreateHoldRequestInit): Promise<CreateHoldResponse>;
  async createHold(
    request: string | CreateHoldRequestInit,
    amount?: bigint | number,
    timeoutSeconds?: bigint | number,
  ): Promise<CreateHoldResponse> {
    const init = typeof request === "string"
      ? { accountId: request, amount: int64(amount), timeoutSeconds: int64(timeoutSeconds) }
      : request;
    const r = create(CreateHoldRequestSchema, this.fill(init));
    return this.mutate("createHold", r, { accountId: r.accountId },
      (timeoutMs) => this.ledgerService.createHold(r, { timeoutMs }));
  }

  /** Spends a hold: all of it, or `amount` of it with the remainder released. */
  captureHold(holdId: string, amount?: bigint | number): Promise<CaptureHoldResponse>;
  captureHold(request: CaptureHoldRequestInit): Promise<CaptureHoldResponse>;
  async captureHold(request: string | CaptureHoldRequestInit, amount?: bigint | number): Promise<CaptureHoldResponse> {
    const init = typeof request === "string"
      ? { holdId: request, ...(amount === undefined ? {} : { amount: int64(amount) }) }
      : request;
    const r = create(CaptureHoldRequestSchema, this.fill(init));
    return this.mutate("captureHold", r, { holdId: r.holdId },
      (timeoutMs) => this.ledgerService.captureHold(r, { timeoutMs }));
  }

  /** Frees an active hold without spending it. */
  async releaseHold(request: string | ReleaseHoldRequestInit): Promise<ReleaseHoldResponse> {
    const init = typeof request === "string" ? { holdId: request } : request;
    const r = create(ReleaseHoldRequestSchema, this.fill(init));
    return this.mutate("releaseHold", r, { holdId: r.holdId },
      (timeoutMs) => this.ledgerService.releaseHold(r, { timeoutMs }));
  }

  // Outcomes.

  /**
   * The recorded outcome of a mutation, or undefined when it has not taken effect (so sending it
   * again with the same request_id is safe). A request_id belongs to the account its mutation acted
   * on: the account of CreateAccount, Deposit, Consume and CreateHold, the debited account of a Transfer.
   */
  getOperation(accountId: string, requestId: string): Promise<Operation | undefined> {
    return read(this.policy, (timeoutMs) => this.lookup({ accountId, requestId }, timeoutMs));
  }

  /** The same for a CaptureHold or ReleaseHold, whose request_id belongs to the hold it named. */
  getHoldOperation(holdId: string, requestId: string): Promise<Operation | undefined> {
    return read(this.policy, (timeoutMs) => this.lookup({ holdId, requestId }, timeoutMs));
  }

  /**
   * Many mutations in one call, one result per operation in order. Each operation gets the tenant
   * and a request_id if it lacks them. Operations whose result may pass later or is uncertain are
   * sent again with the same ids; one still uncertain when the retries run out keeps an UNAVAILABLE
   * OperationError saying so. `FortressError.fromOperationError` gives a result's error typed.
   */
  submitBatch(operations: BatchOperationInit[]): Promise<SubmitBatchResponse> {
    return submitBatch(this.policy, operations, (op) => this.fill(op),
      (request, timeoutMs) => this.ledgerService.submitBatch(request, { timeoutMs }));
  }

  // Cluster (served by the shard proxy; the token needs the admin role).

  /** The ring and, for the accounts given, the node that owns each. */
  getRing(accountIds: string[] = []): Promise<GetRingResponse> {
    const r = { tenantId: this.tenant, accountIds };
    return read(this.policy, (timeoutMs) => this.clusterService.getRing(r, { timeoutMs }));
  }

  /** The node that owns each account under the current ring, in argument order. */
  async placements(...accountIds: string[]): Promise<Map<string, string>> {
    const ring = await this.getRing(accountIds);
    return new Map(ring.placements.map((p) => [p.accountId, p.nodeId]));
  }

  /** Cluster-wide sums and whether credits are conserved. */
  clusterTotals(): Promise<GetClusterTotalsResponse> {
    return read(this.policy, (timeoutMs) => this.clusterService.getClusterTotals({}, { timeoutMs }));
  }

  /** Every node's journal verification. */
  verifyCluster(): Promise<VerifyClusterResponse> {
    return read(this.policy, (timeoutMs) => this.clusterService.verifyCluster({}, { timeoutMs }));
  }

  /** Unfinished two-phase commits on every node. */
  listInDoubt(pageSize = 0): Promise<ListInDoubtResponse> {
    return read(this.policy, (timeoutMs) => this.clusterService.listInDoubt({ pageSize }, { timeoutMs }));
  }

  // Internals.

  /** Runs a mutation; when uncertain, looks it up in `scope` (the account it acts on, or its hold). */
  private mutate<K extends Kind>(
    kind: K,
    request: { tenantId: string; requestId: string },
    scope: Pick<GetOperationRequest, "accountId"> | Pick<GetOperationRequest, "holdId">,
    send: (timeoutMs: number) => Promise<ResponseOf<K>>,
  ): Promise<ResponseOf<K>> {
    const lookup = { ...scope, tenantId: request.tenantId, requestId: request.requestId };
    return mutate(this.policy, request.requestId, send, async (timeoutMs) => {
      const op = await this.lookup(lookup, timeoutMs);
      return op?.response.case === kind ? (op.response.value as ResponseOf<K>) : undefined;
    });
  }

  /** GetOperation: the operation, or undefined for NOT_FOUND OPERATION_NOT_FOUND. */
  private async lookup(
    request: Partial<Pick<GetOperationRequest, "accountId" | "holdId" | "tenantId">> & { requestId: string },
    timeoutMs: number,
  ): Promise<Operation | undefined> {
    try {
      const r = { ...request, tenantId: request.tenantId || this.tenant };
      return required((await this.ledgerService.getOperation(r, { timeoutMs })).operation, "GetOperationResponse.operation");
    } catch (e) {
      const f = typed(e, request.requestId);
      if (f.code === Code.NotFound && f.ledgerReason === LedgerErrorReason.OPERATION_NOT_FOUND) {
        return undefined;
      }
      throw f;
    }
  }

  /** The request with the client's tenant and a fresh request_id where those are empty. */
  private fill<T extends { tenantId?: string; requestId?: string }>(request: T): T {
    return { ...request, tenantId: request.tenantId || this.tenant, requestId: request.requestId || randomUUID() };
  }
}

function policyOf(o: FortressClientOptions): RetryPolicy {
  const policy: RetryPolicy = {
    callTimeoutMs: positive(o.callTimeoutMs ?? CALL_TIMEOUT_MS_DEFAULT, "callTimeoutMs"),
    retryTimeoutMs: positive(o.retryTimeoutMs ?? RETRY_TIMEOUT_MS_DEFAULT, "retryTimeoutMs"),
    maxAttempts: positive(o.maxAttempts ?? MAX_ATTEMPTS_DEFAULT, "maxAttempts"),
    backoffInitialMs: positive(o.backoffInitialMs ?? BACKOFF_INITIAL_MS_DEFAULT, "backoffInitialMs"),
    backoffMaxMs: positive(o.backoffMaxMs ?? BACKOFF_MAX_MS_DEFAULT, "backoffMaxMs"),
  };
  if (!Number.isInteger(policy.maxAttempts)) {
    throw new RangeError(`maxAttempts must be a whole number, got ${policy.maxAttempts}`);
  }
  if (policy.backoffMaxMs < policy.backoffInitialMs) {
    throw new RangeError(`backoffMaxMs ${policy.backoffMaxMs} is below backoffInitialMs ${policy.backoffInitialMs}`);
  }
  return policy;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be positive, got ${value}`);
  }
  return value;
}

/** `host:port` as a URL: https when TLS settings are given, http (h2c) otherwise. */
function baseUrl(address: string, tls: boolean): string {
  if (/^https?:\/\//.test(address)) {
    return address;
  }
  if (!/^[^/\s]+:\d+$/.test(address)) {
    throw new TypeError(`address must be host:port or an http(s) URL, got '${address}'`);
  }
  return `${tls ? "https" : "http"}://${address}`;
}

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/** An int64 argument: a bigint, or a number that is a safe integer. */
function int64(value: bigint | number | undefined): bigint {
  if (typeof value === "bigint") {
    return value;
  }
  if (value === undefined || !Number.isSafeInteger(value)) {
    throw new RangeError(`expected a whole number of credits (or seconds), got ${value}`);
  }
  return BigInt(value);
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`the server sent no ${what}`);
  }
  return value;
}
