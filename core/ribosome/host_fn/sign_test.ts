import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { verifySignature } from "../../crypto/mod.ts"
import { hashCore } from "../../hash/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import { sign } from "./sign.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const data = new TextEncoder().encode("signed by the cell")

hostFnTest("sign_1 signs with the cell's agent key", (cell) =>
  Effect.gen(function* () {
    const signature =
      (yield* run(sign, yield* cell.context(), { key: cell.agent, data })) as Uint8Array
    assertEquals(signature.length, 64)
    assertEquals(verifySignature(hashCore(cell.agent), data, signature), true)
    assertEquals(verifySignature(hashCore(cell.agent), new Uint8Array([1]), signature), false)
  }))

hostFnTest(
  "sign_1 refuses another agent's key, even one in the keystore",
  (cell) =>
    Effect.gen(function* () {
      const other = yield* (yield* Keystore).generate
      yield* expectError(
        sign,
        yield* cell.context(),
        { key: other, data },
        "unauthorized",
        "own agent key",
      )
      yield* expectError(
        sign,
        yield* cell.context(),
        { key: data, data },
        "invalid_input",
        "sign_1",
      )
    }),
)

hostFnTest(
  "sign_1 runs only in calls, never in validation",
  (cell) =>
    expectAllowedIn(sign, cell, ["zome_call", "init", "post_commit"], { key: cell.agent, data }),
)
