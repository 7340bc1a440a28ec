// SubmitBatch with the client's retry rules applied per operation: each operation is idempotent by
// its own request_id, so those whose result may pass later or is uncertain are sent again, in a
// smaller batch, with the same ids.

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  BatchOperationSchema,
  BatchResultSchema,
  OperationErrorSchema,
  SubmitBatchResponseSchema,
  type BatchOperation,
  type BatchResult,
  type SubmitBatchRequest,
  type SubmitBatchResponse,
} from "./gen/fortress/ledger/v1/ledger_pb.js";
import { FortressError } from "./errors.js";
import { LedgerErrorReason, ledgerReasonName } from "./reasons.js";
import { Attempts, mutationDisposition, typed, type RetryPolicy } from "./retry.js";

export type BatchOperationInit = MessageInitShape<typeof BatchOperationSchema>;

type Fill = <T extends { tenantId?: string; requestId?: string }>(request: T) => T;

/** One operation's progress through the attempts. */
interface Pending {
  readonly index: number;
  uncertain: boolean;
  last: BatchResult | undefined;
}

export async function submitBatch(
  policy: RetryPolicy,
  operations: BatchOperationInit[],
  fill: Fill,
  send: (request: Pick<SubmitBatchRequest, "operations">, timeoutMs: number) => Promise<SubmitBatchResponse>,
): Promise<SubmitBatchResponse> {
  const ops = operations.map((op) => filled(create(BatchOperationSchema, op), fill));
  const results: BatchResult[] = new Array<BatchResult>(ops.length);
  let pending: Pending[] = ops.map((_, index) => ({ index, uncertain: false, last: undefined }));
  const attempts = new Attempts(policy);
  let lastError: FortressError | undefined;
  while (pending.length > 0) {
    const again: Pending[] = [];
    try {
      const got = await send({ operations: pending.map((p) => ops[p.index]!) }, attempts.timeoutMs());
      if (got.results.length !== pending.length) {
        throw new Error(`SubmitBatch answered ${got.results.length} results for ${pending.length} operations`);
      }
      pending.forEach((p, k) => {
        const result = got.results[k]!;
        // A response, or a refusal that stands, is final.
        const next = result.result.case === "error"
          ? mutationDisposition(FortressError.fromOperationError(result.result.value))
          : "final";
        if (next === "retry" || next === "uncertain") {
          results[p.index] = result;
          again.push({ index: p.index, uncertain: p.uncertain || next === "uncertain", last: result });
        } else {
          // After an uncertain attempt, a refusal of a later one does not settle it: the earlier
          // attempt may still land.
          const settles = result.result.case === "error" && FortressError.fromOperationError(result.result.value).settles;
          results[p.index] = p.uncertain && next === "fail" && !settles ? givenUp({ ...p, last: result }, undefined) : result;
        }
      });
    } catch (e) {
      lastError = typed(e, "");
      const next = mutationDisposition(lastError);
      if (next === "fail") {
        if (pending.length === ops.length && results.every((r) => r === undefined)) {
          throw lastError; // the first round, refused as a whole: nothing was applied
        }
        const failed = lastError;
        pending.forEach((p) => (results[p.index] = givenUp(p, failed)));
        break;
      }
      pending.forEach((p) => again.push({ ...p, uncertain: p.uncertain || next === "uncertain" }));
    }
    pending = again;
    if (pending.length > 0 && !(await attempts.backOff(lastError?.retryDelayMs))) {
      pending.forEach((p) => (results[p.index] = givenUp(p, lastError)));
      break;
    }
    lastError = undefined;
  }
  return create(SubmitBatchResponseSchema, { results });
}

/** The result of an operation still pending when the retries ran out, or settled by a refusal after an uncertain attempt. */
function givenUp(p: Pending, lastError: FortressError | undefined): BatchResult {
  const last = p.last?.result.case === "error" ? p.last.result.value : undefined;
  if (!p.uncertain) {
    // Certain: it did not take effect; its own error, or the whole call's, says why.
    if (p.last !== undefined) {
      return p.last;
    }
    if (lastError === undefined) {
      throw new Error("an operation left pending with neither a result nor an error");
    }
    return errorResult(lastError.code, lastError.reasonName, lastError.message, lastError.metadata);
  }
  const why = lastError?.message ?? (last !== undefined ? `${last.reason} ${last.message}` : "");
  return errorResult(
    Code.Unavailable,
    ledgerReasonName(LedgerErrorReason.OUTCOME_UNKNOWN),
    `outcome unknown: an attempt may have taken effect; resolve it with GetOperation on its request_id; last error ${why}`,
    last?.metadata ?? lastError?.metadata ?? {},
  );
}

function errorResult(code: Code, reason: string, message: string, metadata: Readonly<Record<string, string>>): BatchResult {
  return create(BatchResultSchema, {
    result: { case: "error", value: create(OperationErrorSchema, { code, reason, message, metadata: { ...metadata } }) },
  });
}

/** The operation with the client's tenant and a request_id filled in. */
function filled(op: BatchOperation, fill: Fill): BatchOperation {
  if (op.operation.case === undefined) {
    return op; // The server names the empty operation in its INVALID_ARGUMENT.
  }
  return { ...op, operation: { ...op.operation, value: fill(op.operation.value) } } as BatchOperation;
}
