// What the tests share for calls that must fail.

import assert from "node:assert/strict";
import { FortressError } from "../../src/index.js";

/** The FortressError a call fails with; fails the test when the call succeeds or throws anything else. */
export async function rejection(call: Promise<unknown>): Promise<FortressError> {
  try {
    await call;
  } catch (e) {
    assert.ok(e instanceof FortressError, `expected a FortressError, got ${String(e)}`);
    return e;
  }
  assert.fail("the call succeeded");
}
