// The Fortress ledger SDK for TypeScript: the client, its errors, and the generated contract.

export {
  FortressClient,
  BACKOFF_INITIAL_MS_DEFAULT,
  BACKOFF_MAX_MS_DEFAULT,
  CALL_TIMEOUT_MS_DEFAULT,
  MAX_ATTEMPTS_DEFAULT,
  RETRY_TIMEOUT_MS_DEFAULT,
  type CaptureHoldRequestInit,
  type ConsumeRequestInit,
  type CreateAccountRequestInit,
  type CreateHoldRequestInit,
  type DepositRequestInit,
  type FortressClientOptions,
  type GetAccountRequestInit,
  type ListEntriesRequestInit,
  type ReleaseHoldRequestInit,
  type TransferRequestInit,
} from "./client.js";
export type { BatchOperationInit } from "./batch.js";
export { FortressError, OutcomeUnknownError, type FieldViolation } from "./errors.js";
export {
  AUTH_DOMAIN,
  AuthErrorReason,
  AuthErrorReasonSchema,
  LEDGER_DOMAIN,
  LedgerErrorReason as ErrorReason,
  LedgerErrorReasonSchema as ErrorReasonSchema,
  ledgerReasonEffect,
  ledgerReasonName,
} from "./reasons.js";
export { Effect } from "./gen/fortress/rpc/v1/reason_pb.js";
// The ledger contract's messages, enums and service (its ErrorReason is exported above).
export * from "./gen/fortress/ledger/v1/ledger_pb.js";
export * from "./gen/fortress/cluster/v1/cluster_pb.js";
export { Code } from "@connectrpc/connect";
