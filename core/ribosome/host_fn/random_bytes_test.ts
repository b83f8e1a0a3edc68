import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual,
  ok as assert,
} from "node:assert/strict"
import { Effect } from "effect"
import { MAX_RANDOM_BYTES, randomBytes } from "./random_bytes.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "random_bytes_1 returns as many fresh bytes as asked",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const a = (yield* run(randomBytes, ctx, 32)) as Uint8Array
      const b = (yield* run(randomBytes, ctx, 32)) as Uint8Array
      assert(a instanceof Uint8Array)
      assertEquals(a.length, 32)
      notDeepStrictEqual(a, b)
      assertEquals(((yield* run(randomBytes, ctx, 0)) as Uint8Array).length, 0)
    }),
)

hostFnTest(
  "random_bytes_1 refuses more than 1 MiB and a count that is not a whole number",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      assertEquals(
        ((yield* run(randomBytes, ctx, MAX_RANDOM_BYTES)) as Uint8Array).length,
        MAX_RANDOM_BYTES,
      )
      yield* expectError(
        randomBytes,
        ctx,
        MAX_RANDOM_BYTES + 1,
        "limit",
        `${MAX_RANDOM_BYTES + 1} bytes`,
      )
      yield* expectError(randomBytes, ctx, -1, "invalid_input", "random_bytes_1")
      yield* expectError(randomBytes, ctx, 1.5, "invalid_input")
      yield* expectError(randomBytes, ctx, "8", "invalid_input")
    }),
)

hostFnTest(
  "random_bytes_1 runs only where non-determinism is allowed",
  (cell) => expectAllowedIn(randomBytes, cell, ["zome_call", "init", "post_commit"], 8),
)
