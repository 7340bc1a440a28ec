// The error vocabulary, read from the generated enums and their options: an ErrorInfo's domain
// picks the reason enum (its `(fortress.rpc.v1.domain)` option), the reason string names a value,
// and the value's `(fortress.rpc.v1.effect)` option says whether the request certainly did not
// take effect. Nothing here spells a reason or a domain by hand. This is the only file that knows
// which generated files declare the reason enums; everything else imports them from here.

import { getOption, type DescEnum, type DescEnumValue } from "@bufbuild/protobuf";
import {
  ErrorReason as AuthErrorReason,
  ErrorReasonSchema as AuthErrorReasonSchema,
} from "./gen/fortress/auth/v1/reason_pb.js";
import {
  ErrorReason as LedgerErrorReason,
  ErrorReasonSchema as LedgerErrorReasonSchema,
} from "./gen/fortress/ledger/v1/ledger_pb.js";
import {
  Effect,
  domain as domainOption,
  effect as effectOption,
  recorded as recordedOption,
} from "./gen/fortress/rpc/v1/reason_pb.js";

export { AuthErrorReason, AuthErrorReasonSchema, LedgerErrorReason, LedgerErrorReasonSchema };

/** The ErrorInfo domain of the ledger's reasons (`ledger.fortress.dev`), from the enum's option. */
export const LEDGER_DOMAIN: string = requireDomain(LedgerErrorReasonSchema);

/** The ErrorInfo domain of the refusals before a call reaches a service (`auth.fortress.dev`). */
export const AUTH_DOMAIN: string = requireDomain(AuthErrorReasonSchema);

/** A reason the client knows: its enum value (one of the two), and the effect its option declares. */
export interface KnownReason {
  ledger?: LedgerErrorReason;
  auth?: AuthErrorReason;
  effect: Effect;
  /** The reason is the request's recorded outcome (`(fortress.rpc.v1.recorded)`): it settles the request. */
  recorded: boolean;
}

/**
 * The enum value that `reason` names in `domain`, with its effect; undefined for an empty or
 * unknown domain or reason (a newer server may send reasons this client does not know yet).
 */
export function knownReason(domain: string, reason: string): KnownReason | undefined {
  if (domain === LEDGER_DOMAIN) {
    const value = valueNamed(LedgerErrorReasonSchema, reason);
    return value && { ledger: value.number as LedgerErrorReason, effect: effectOf(value), recorded: recordedOf(value) };
  }
  if (domain === AUTH_DOMAIN) {
    const value = valueNamed(AuthErrorReasonSchema, reason);
    return value && { auth: value.number as AuthErrorReason, effect: effectOf(value), recorded: recordedOf(value) };
  }
  return undefined;
}

/** The wire name of a ledger reason, e.g. `INSUFFICIENT_FUNDS`: what ErrorInfo and OperationError carry. */
export function ledgerReasonName(reason: LedgerErrorReason): string {
  const value = LedgerErrorReasonSchema.value[reason];
  if (value === undefined) {
    throw new RangeError(`${reason} is not a fortress.ledger.v1.ErrorReason`);
  }
  return value.name;
}

/** The effect a ledger reason declares in the contract. */
export function ledgerReasonEffect(reason: LedgerErrorReason): Effect {
  const value = LedgerErrorReasonSchema.value[reason];
  return value === undefined ? Effect.UNSPECIFIED : effectOf(value);
}

function valueNamed(schema: DescEnum, name: string): DescEnumValue | undefined {
  if (name === "") {
    return undefined;
  }
  const value = schema.values.find((v) => v.name === name);
  return value === undefined || value.number === 0 ? undefined : value;
}

function effectOf(value: DescEnumValue): Effect {
  return getOption(value, effectOption);
}

function recordedOf(value: DescEnumValue): boolean {
  return getOption(value, recordedOption);
}

function requireDomain(schema: DescEnum): string {
  const domain = getOption(schema, domainOption);
  if (domain === "") {
    throw new Error(`${schema.typeName} has no (fortress.rpc.v1.domain) option; the generated code is stale`);
  }
  return domain;
}
