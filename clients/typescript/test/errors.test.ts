// The error vocabulary as the generated code carries it, and what the client makes of each error.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { getOption } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { code as codeOption, effect as effectOption } from "../src/gen/fortress/rpc/v1/reason_pb.js";
import { Code as RpcCode } from "../src/gen/google/rpc/code_pb.js";
import {
  AuthErrorReason,
  AuthErrorReasonSchema,
  Code,
  Effect,
  ErrorReason,
  ErrorReasonSchema,
  FortressError,
  ledgerReasonName,
} from "../src/index.js";
import { AUTH_DOMAIN, LEDGER_DOMAIN, knownReason } from "../src/reasons.js";
import { mutationDisposition, readDisposition } from "../src/retry.js";
import { refusal } from "./support/fake-ledger.js";

describe("the error vocabulary", () => {
  test("reasonEnums_everyValueButZero_declaresACodeAndAnEffect", () => {
    for (const schema of [ErrorReasonSchema, AuthErrorReasonSchema]) {
      for (const value of schema.values.filter((v) => v.number !== 0)) {
        assert.notEqual(getOption(value, codeOption), RpcCode.OK, `${schema.typeName}.${value.name} has no code`);
        assert.notEqual(getOption(value, effectOption), Effect.UNSPECIFIED, `${schema.typeName}.${value.name} has no effect`);
      }
    }
  });

  test("knownReason_namesFromTheWire_mapToTheEnumsOfTheirDomain", () => {
    assert.equal(knownReason(LEDGER_DOMAIN, ledgerReasonName(ErrorReason.INSUFFICIENT_FUNDS))?.ledger, ErrorReason.INSUFFICIENT_FUNDS);
    assert.equal(knownReason(AUTH_DOMAIN, AuthErrorReasonSchema.value[AuthErrorReason.TOKEN_MISSING]!.name)?.auth,
      AuthErrorReason.TOKEN_MISSING);
    // The same name in another domain is not the ledger's reason.
    assert.equal(knownReason(AUTH_DOMAIN, ledgerReasonName(ErrorReason.INSUFFICIENT_FUNDS)), undefined);
    assert.equal(knownReason(LEDGER_DOMAIN, "A_REASON_FROM_THE_FUTURE"), undefined);
    assert.equal(knownReason(LEDGER_DOMAIN, ""), undefined);
  });

  test("fromConnectError_detailsPresent_typedReasonEffectViolationsAndRetryDelay", () => {
    const e = FortressError.fromConnectError(refusal(ErrorReason.RATE_LIMITED, { retryDelayMs: 250 }), "r1");
    assert.equal(e.code, Code.ResourceExhausted);
    assert.equal(e.domain, LEDGER_DOMAIN);
    assert.equal(e.ledgerReason, ErrorReason.RATE_LIMITED);
    assert.equal(e.authReason, undefined);
    assert.equal(e.effect, Effect.NONE);
    assert.equal(e.retryDelayMs, 250);
    assert.equal(e.requestId, "r1");
    assert.ok(e.message.includes(ledgerReasonName(ErrorReason.RATE_LIMITED)));
  });

  test("fromConnectError_noErrorInfo_aTransportFailureWithNoReason", () => {
    const e = FortressError.fromConnectError(new ConnectError("read ECONNRESET", Code.Aborted));
    assert.equal(e.hasErrorInfo, false);
    assert.equal(e.ledgerReason, undefined);
    assert.equal(e.effect, Effect.UNSPECIFIED);
  });
});

describe("what follows a failure", () => {
  const ledger = (reason: ErrorReason) => FortressError.fromConnectError(refusal(reason));
  const transport = (code: Code) => FortressError.fromConnectError(new ConnectError("connection lost", code));

  test("mutationDisposition_byEffectAndCode", () => {
    for (const reason of [ErrorReason.WRITER_QUEUE_FULL, ErrorReason.RATE_LIMITED, ErrorReason.STORAGE_UNAVAILABLE,
      ErrorReason.SHUTTING_DOWN]) {
      assert.equal(mutationDisposition(ledger(reason)), "retry", ErrorReason[reason]);
    }
    for (const reason of [ErrorReason.NODE_UNAVAILABLE, ErrorReason.OUTCOME_UNKNOWN, ErrorReason.TRANSFER_IN_PROGRESS,
      ErrorReason.DEADLINE_EXCEEDED, ErrorReason.CANCELLED]) {
      assert.equal(mutationDisposition(ledger(reason)), "uncertain", ErrorReason[reason]);
    }
    for (const reason of [ErrorReason.INSUFFICIENT_FUNDS, ErrorReason.INVALID_FIELD, ErrorReason.REQUEST_ID_REUSED,
      ErrorReason.TRANSFER_ABORTED, ErrorReason.WRONG_NODE]) {
      assert.equal(mutationDisposition(ledger(reason)), "fail", ErrorReason[reason]);
    }
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown]) {
      assert.equal(mutationDisposition(transport(code)), "uncertain", Code[code]);
    }
    assert.equal(mutationDisposition(transport(Code.Unauthenticated)), "fail");
  });

  test("readDisposition_retriesWhatMayPassLater", () => {
    assert.equal(readDisposition(ledger(ErrorReason.NODE_UNAVAILABLE)), "retry");
    assert.equal(readDisposition(ledger(ErrorReason.RATE_LIMITED)), "retry");
    assert.equal(readDisposition(transport(Code.Aborted)), "retry");
    assert.equal(readDisposition(ledger(ErrorReason.ACCOUNT_NOT_FOUND)), "fail");
    assert.equal(readDisposition(ledger(ErrorReason.TRANSFER_ABORTED)), "fail", "ABORTED with a reason is an answer");
  });
});
