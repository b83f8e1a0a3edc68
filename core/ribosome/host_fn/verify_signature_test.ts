import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { Keystore } from "../../keystore/mod.ts"
import { verifySignature } from "./verify_signature.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const data = new TextEncoder().encode("some data")

hostFnTest(
  "verify_signature_1 accepts a good signature and rejects a bad one",
  (cell) =>
    Effect.gen(function* () {
      const keystore = yield* Keystore
      const signature = yield* keystore.sign(cell.agent, data)
      const ctx = yield* cell.context("validate")
      assertEquals(yield* run(verifySignature, ctx, { key: cell.agent, signature, data }), true)
      const tampered = Uint8Array.from(data, (b, i) => (i === 0 ? b ^ 1 : b))
      assertEquals(
        yield* run(verifySignature, ctx, { key: cell.agent, signature, data: tampered }),
        false,
      )
      const other = yield* keystore.generate
      assertEquals(yield* run(verifySignature, ctx, { key: other, signature, data }), false)
      assertEquals(
        yield* run(verifySignature, ctx, { key: cell.agent, signature: new Uint8Array(3), data }),
        false,
      )
      yield* expectError(verifySignature, ctx, { key: data, signature, data }, "invalid_input")
    }),
)

hostFnTest(
  "verify_signature_1 runs wherever the calls are deterministic",
  (cell) =>
    Effect.gen(function* () {
      const signature = yield* (yield* Keystore).sign(cell.agent, data)
      yield* expectAllowedIn(verifySignature, cell, [
        "zome_call",
        "init",
        "post_commit",
        "validate",
        "genesis_self_check",
      ], { key: cell.agent, signature, data })
    }),
)
