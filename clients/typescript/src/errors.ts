// The errors the client throws. A Fortress server answers every refusal with one google.rpc.ErrorInfo
// (domain and reason), a BadRequest naming the field for INVALID_ARGUMENT, and RetryInfo when it
// knows when to try again; FortressError carries them typed. Anything without an ErrorInfo is a
// transport failure or a status from something that is not a Fortress server.

import { Code, ConnectError } from "@connectrpc/connect";
import type { OperationError } from "./gen/fortress/ledger/v1/ledger_pb.js";
import { Effect } from "./gen/fortress/rpc/v1/reason_pb.js";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { LEDGER_DOMAIN, knownReason, type AuthErrorReason, type LedgerErrorReason } from "./reasons.js";

/** One field a request got wrong, from the error's BadRequest detail. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** What a FortressError is made of. */
export interface FortressErrorInit {
  code: Code;
  message: string;
  domain?: string;
  reasonName?: string;
  metadata?: Record<string, string>;
  requestId?: string;
  fieldViolations?: FieldViolation[];
  retryDelayMs?: number;
  /** Overrides the effect the reason declares (an OutcomeUnknownError is uncertain whatever its last error). */
  effect?: Effect;
  cause?: unknown;
}

/**
 * A call that did not succeed. `ledgerReason` or `authReason` says what happened, typed as the
 * contract's enums (compare with `ErrorReason.INSUFFICIENT_FUNDS`); `effect` says whether the
 * request certainly changed nothing (`Effect.NONE`) or may have taken effect (`Effect.UNKNOWN`), as
 * the reason's option declares it; `Effect.UNSPECIFIED` when no known reason came with the error.
 */
export class FortressError extends Error {
  /** The canonical gRPC status code. */
  readonly code: Code;
  /** The ErrorInfo domain, e.g. `ledger.fortress.dev`; empty when the error carried no ErrorInfo. */
  readonly domain: string;
  /** The ErrorInfo reason as sent, e.g. `INSUFFICIENT_FUNDS`; empty when there was none. */
  readonly reasonName: string;
  /** The reason, when the domain is the ledger's and this client knows the name. */
  readonly ledgerReason: LedgerErrorReason | undefined;
  /** The reason, when the domain is auth's and this client knows the name. */
  readonly authReason: AuthErrorReason | undefined;
  /** What the reason says about the request's effect. */
  readonly effect: Effect;
  /**
   * Whether this error settles a mutation even after an earlier attempt's outcome was unknown: it
   * is uncertain itself, or its reason is the request's recorded outcome (TRANSFER_ABORTED).
   */
  readonly settles: boolean;
  /** The ErrorInfo metadata, e.g. `field` for INVALID_FIELD or `available` for INSUFFICIENT_FUNDS. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The mutation's request_id; empty for reads. */
  readonly requestId: string;
  /** The BadRequest field violations; empty when the error had none. */
  readonly fieldViolations: readonly FieldViolation[];
  /** How long the server asked the client to wait before trying again (RetryInfo), if it said. */
  readonly retryDelayMs: number | undefined;

  constructor(init: FortressErrorInit) {
    super(init.message, { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.domain = init.domain ?? "";
    this.reasonName = init.reasonName ?? "";
    const known = knownReason(this.domain, this.reasonName);
    this.ledgerReason = known?.ledger;
    this.authReason = known?.auth;
    this.effect = init.effect ?? known?.effect ?? Effect.UNSPECIFIED;
    this.settles = this.effect === Effect.UNKNOWN || (known?.recorded ?? false);
    this.metadata = Object.freeze({ ...(init.metadata ?? {}) });
    this.requestId = init.requestId ?? "";
    this.fieldViolations = Object.freeze([...(init.fieldViolations ?? [])]);
    this.retryDelayMs = init.retryDelayMs;
  }

  /** The field an INVALID_ARGUMENT names: metadata `field`, else the first BadRequest violation. */
  get field(): string | undefined {
    return this.metadata["field"] ?? this.fieldViolations[0]?.field;
  }

  /** True when the server sent no ErrorInfo: the connection failed, or a non-Fortress hop answered. */
  get hasErrorInfo(): boolean {
    return this.domain !== "";
  }

  /** The typed error for a failed call; `requestId` is the mutation's, empty for reads. */
  static fromConnectError(e: ConnectError, requestId = ""): FortressError {
    const info = e.findDetails(ErrorInfoSchema)[0];
    const violations = e.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
    const retry = e.findDetails(RetryInfoSchema)[0]?.retryDelay;
    const reasonName = info?.reason ?? "";
    return new FortressError({
      code: e.code,
      message: describe(e.code, reasonName, e.rawMessage),
      domain: info?.domain ?? "",
      reasonName,
      metadata: info?.metadata ?? {},
      requestId,
      fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })),
      retryDelayMs: retry === undefined ? undefined : Number(retry.seconds) * 1000 + retry.nanos / 1e6,
      cause: e,
    });
  }

  /** The typed view of one SubmitBatch result's error: the same reason enum, the same effect. */
  static fromOperationError(error: OperationError, requestId = ""): FortressError {
    const code = error.code >= Code.Canceled && error.code <= Code.Unauthenticated ? (error.code as Code) : Code.Unknown;
    return new FortressError({
      code,
      message: describe(code, error.reason, error.message),
      domain: error.reason === "" ? "" : LEDGER_DOMAIN,
      reasonName: error.reason,
      metadata: error.metadata,
      requestId,
    });
  }
}

/**
 * A mutation whose outcome the client could not learn before its retries ran out: every attempt
 * was uncertain and GetOperation never found it. It may still take effect. Resolve it later with
 * `getOperation` (or `getHoldOperation`) on `requestId`, or send the same request with the same
 * request_id again, which the ledger applies at most once.
 */
export class OutcomeUnknownError extends FortressError {
  /** The last failure seen. */
  readonly last: FortressError;

  constructor(last: FortressError) {
    super({
      code: last.code,
      message: `outcome unknown for request_id ${last.requestId} after retries; last error ${last.message}`,
      domain: last.domain,
      reasonName: last.reasonName,
      metadata: { ...last.metadata },
      requestId: last.requestId,
      fieldViolations: [...last.fieldViolations],
      retryDelayMs: last.retryDelayMs,
      effect: Effect.UNKNOWN,
      cause: last,
    });
    this.last = last;
  }
}

function describe(code: Code, reasonName: string, message: string): string {
  return `${Code[code] ?? code}${reasonName === "" ? "" : ` ${reasonName}`}${message === "" ? "" : `: ${message}`}`;
}
