// A hand-written fake LedgerService on a real HTTP/2 server in this process, for the retry rules a
// real cluster cannot be made to show on demand (a full write queue, a rate limit, a transfer still
// being decided). Each method answers from a script, one step per call, and records what it was sent.

import http2 from "node:http2";
import type net from "node:net";
import { create, getOption, type MessageInitShape } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, type Code, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  LedgerService,
  OperationSchema,
  type GetOperationRequest,
  type SubmitBatchRequest,
} from "../../src/gen/fortress/ledger/v1/ledger_pb.js";
import { code as codeOption } from "../../src/gen/fortress/rpc/v1/reason_pb.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import {
  LEDGER_DOMAIN,
  LedgerErrorReason as ErrorReason,
  LedgerErrorReasonSchema as ErrorReasonSchema,
  ledgerReasonName,
} from "../../src/reasons.js";

/** One scripted answer: a value, an error, or a pause before either. */
export type Step<R> = { ok: R } | { fail: ConnectError } | { delayMs: number; then: Step<R> };

/** The error a ledger node sends for `reason`: the code its option declares, and one ErrorInfo. */
export function refusal(reason: ErrorReason, options: { retryDelayMs?: number } = {}): ConnectError {
  const value = ErrorReasonSchema.value[reason];
  if (value === undefined) {
    throw new RangeError(`unknown reason ${reason}`);
  }
  const details = [{ desc: ErrorInfoSchema, value: { reason: ledgerReasonName(reason), domain: LEDGER_DOMAIN } }];
  const delay = options.retryDelayMs;
  const retry = delay === undefined
    ? []
    : [{ desc: RetryInfoSchema, value: { retryDelay: create(DurationSchema, { nanos: delay * 1_000_000 }) } }];
  return new ConnectError(`fake ${value.name}`, getOption(value, codeOption) as number as Code, undefined, [...details, ...retry]);
}

type Call = { method: string; requestId: string; timeoutMs: number | undefined; scope?: GetOperationRequest };

type DepositResponseInit = MessageInitShape<typeof LedgerService.method.deposit.output>;
type TransferResponseInit = MessageInitShape<typeof LedgerService.method.transfer.output>;
type AccountResponseInit = MessageInitShape<typeof LedgerService.method.getAccount.output>;
type OperationInit = MessageInitShape<typeof OperationSchema>;
type BatchResponseInit = MessageInitShape<typeof LedgerService.method.submitBatch.output>;

export class FakeLedger {
  readonly calls: Call[] = [];
  deposit: Step<DepositResponseInit>[] = [];
  consume: Step<MessageInitShape<typeof LedgerService.method.consume.output>>[] = [];
  transfer: Step<TransferResponseInit>[] = [];
  getAccount: Step<AccountResponseInit>[] = [];
  getOperation: Step<OperationInit>[] = [];
  submitBatch: Step<BatchResponseInit>[] = [];
  readonly batches: SubmitBatchRequest[] = [];
  private server: http2.Http2Server | undefined;

  /** Starts the server on an ephemeral port of 127.0.0.1 and returns its `host:port`. */
  async start(): Promise<string> {
    const handler = connectNodeAdapter({
      routes: (router) => router.service(LedgerService, {
        deposit: (r, ctx) => this.answer("Deposit", r.requestId, ctx, this.deposit),
        consume: (r, ctx) => this.answer("Consume", r.requestId, ctx, this.consume),
        transfer: (r, ctx) => this.answer("Transfer", r.requestId, ctx, this.transfer),
        getAccount: (_r, ctx) => this.answer("GetAccount", "", ctx, this.getAccount),
        getOperation: async (r, ctx) => {
          const operation = await this.answer("GetOperation", r.requestId, ctx, this.getOperation, r);
          return { operation };
        },
        submitBatch: (r, ctx) => {
          this.batches.push(r);
          return this.answer("SubmitBatch", "", ctx, this.submitBatch);
        },
      }),
    });
    const server = http2.createServer(handler);
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The methods called, in order. */
  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  private async answer<R>(
    method: string,
    requestId: string,
    ctx: HandlerContext,
    script: Step<R>[],
    scope?: GetOperationRequest,
  ): Promise<R> {
    this.calls.push({ method, requestId, timeoutMs: ctx.timeoutMs(), ...(scope ? { scope } : {}) });
    let step = script.length > 1 ? script.shift() : script[0];
    if (step === undefined) {
      throw new Error(`the fake has no answer scripted for ${method}`);
    }
    while ("delayMs" in step) {
      await new Promise((resolve) => setTimeout(resolve, (step as { delayMs: number }).delayMs));
      step = step.then;
    }
    if ("fail" in step) {
      throw step.fail;
    }
    return step.ok;
  }
}

/** The answer GetOperation gives when the request_id has not taken effect. */
export const NOT_FOUND: Step<OperationInit> = { fail: refusal(ErrorReason.OPERATION_NOT_FOUND) };
