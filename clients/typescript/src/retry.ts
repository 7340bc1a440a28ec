// The retry loops: a deadline on every attempt, one on all attempts of a call, jittered exponential
// backoff between them, and the rules for what may be sent again.
//
// - A read is retried on UNAVAILABLE, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED, and on a transport
//   failure (no ErrorInfo).
// - A mutation refused with a certain reason (Effect.NONE) whose code may pass later (UNAVAILABLE,
//   RESOURCE_EXHAUSTED: WRITER_QUEUE_FULL, RATE_LIMITED, STORAGE_UNAVAILABLE, SHUTTING_DOWN) is sent
//   again with the same request_id.
// - A mutation whose outcome is uncertain (Effect.UNKNOWN, or a transport failure with no ErrorInfo)
//   is looked up with GetOperation first: a recorded response is the answer; only OPERATION_NOT_FOUND
//   lets it be sent again, with the same request_id. Still uncertain when the attempts or the time
//   run out: OutcomeUnknownError.
// - Anything else is thrown at once.

import { Code, ConnectError } from "@connectrpc/connect";
import { Effect } from "./gen/fortress/rpc/v1/reason_pb.js";
import { FortressError, OutcomeUnknownError } from "./errors.js";

/** The limits of one call's attempts. */
export interface RetryPolicy {
  /** The deadline of each attempt. */
  readonly callTimeoutMs: number;
  /** The deadline of all attempts of one call together. */
  readonly retryTimeoutMs: number;
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** The pause before the first retry; it doubles, with jitter, up to backoffMaxMs. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

/** What may follow a failed attempt. */
export type Disposition = "fail" | "retry" | "uncertain";

/** Codes that may pass on a later attempt. */
const RETRYABLE_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded]);

/**
 * Codes that, with no ErrorInfo, mean the call broke in transit: a refused or dropped connection,
 * a reset stream, the client's own deadline. The server may have acted on the request.
 */
const TRANSPORT_CODES: ReadonlySet<Code> = new Set([
  ...RETRYABLE_CODES,
  Code.Aborted,
  Code.Internal,
  Code.Canceled,
  Code.Unknown,
]);

/** What follows a failed read: reads change nothing, so anything that may pass later is retried. */
export function readDisposition(e: FortressError): Exclude<Disposition, "uncertain"> {
  const retryable = RETRYABLE_CODES.has(e.code) || (!e.hasErrorInfo && TRANSPORT_CODES.has(e.code));
  return retryable ? "retry" : "fail";
}

/** What follows a failed mutation, from the effect its reason declares. */
export function mutationDisposition(e: FortressError): Disposition {
  if (e.effect === Effect.UNKNOWN) {
    return "uncertain";
  }
  if (e.effect === Effect.NONE) {
    return RETRYABLE_CODES.has(e.code) ? "retry" : "fail";
  }
  // No reason this client knows: a transport failure, or a reason newer than the client.
  const uncertainCodes = e.hasErrorInfo ? RETRYABLE_CODES : TRANSPORT_CODES;
  return uncertainCodes.has(e.code) ? "uncertain" : "fail";
}

/** The attempts of one call: a deadline for each, one for all, and jittered exponential backoff. */
export class Attempts {
  private readonly deadline: number;
  private made = 1;

  constructor(private readonly policy: RetryPolicy) {
    this.deadline = performance.now() + policy.retryTimeoutMs;
  }

  /** The deadline of the next attempt: the per-attempt one, cut to what is left of the overall. */
  timeoutMs(): number {
    return Math.max(1, Math.floor(Math.min(this.policy.callTimeoutMs, this.deadline - performance.now())));
  }

  /**
   * Waits before the next attempt: at least the server's RetryInfo delay when it gave one, never
   * past the overall deadline. False when the attempts or the time are used up.
   */
  async backOff(retryDelayMs?: number): Promise<boolean> {
    const left = this.deadline - performance.now();
    if (this.made >= this.policy.maxAttempts || left <= 0) {
      return false;
    }
    const cap = Math.min(this.policy.backoffMaxMs, this.policy.backoffInitialMs * 2 ** Math.min(this.made - 1, 20));
    const jittered = cap / 2 + Math.random() * (cap / 2);
    const pause = Math.min(Math.max(jittered, retryDelayMs ?? 0), left);
    this.made++;
    await new Promise((resolve) => setTimeout(resolve, pause));
    return this.deadline - performance.now() > 0;
  }
}

/** A call attempt, given its deadline. */
export type Attempt<R> = (timeoutMs: number) => Promise<R>;

/** Runs a read, retrying what may pass later. */
export async function read<R>(policy: RetryPolicy, call: Attempt<R>): Promise<R> {
  const attempts = new Attempts(policy);
  for (;;) {
    try {
      return await call(attempts.timeoutMs());
    } catch (e) {
      const f = typed(e, "");
      if (readDisposition(f) === "fail" || !(await attempts.backOff(f.retryDelayMs))) {
        throw f;
      }
    }
  }
}

/**
 * Runs a mutation under its request_id. `lookup` asks GetOperation in the mutation's scope and
 * returns the recorded response, or undefined when the mutation has not taken effect (NOT_FOUND
 * OPERATION_NOT_FOUND, or recorded as another kind, which sending it again reports as
 * REQUEST_ID_REUSED); it throws anything else.
 */
export async function mutate<R>(
  policy: RetryPolicy,
  requestId: string,
  send: Attempt<R>,
  lookup: Attempt<R | undefined>,
): Promise<R> {
  const attempts = new Attempts(policy);
  let uncertain = false;
  for (;;) {
    try {
      if (uncertain) {
        const recorded = await lookup(attempts.timeoutMs());
        if (recorded !== undefined) {
          return recorded;
        }
      }
      return await send(attempts.timeoutMs());
    } catch (e) {
      const f = typed(e, requestId);
      const next = mutationDisposition(f);
      if (next === "fail") {
        // After an uncertain attempt, a later refusal does not settle the outcome (the earlier
        // attempt may still land), unless it is the request's recorded outcome.
        throw uncertain && !f.settles ? new OutcomeUnknownError(f) : f;
      }
      uncertain ||= next === "uncertain";
      if (!(await attempts.backOff(f.retryDelayMs))) {
        throw uncertain ? new OutcomeUnknownError(f) : f;
      }
    }
  }
}

/** A failed call as a FortressError; anything that is not a call failure is a bug, rethrown as is. */
export function typed(e: unknown, requestId: string): FortressError {
  if (e instanceof FortressError) {
    return e;
  }
  if (e instanceof ConnectError) {
    return FortressError.fromConnectError(e, requestId);
  }
  throw e;
}
