import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { sysTime } from "./sys_time.ts"
import { expectAllowedIn, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "sys_time_1 answers the conductor clock in microseconds",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const micros = yield* Effect.gen(function* () {
        yield* TestClock.setTime(1_700_000_000_123)
        return yield* run(sysTime, ctx, null)
      }).pipe(Effect.provide(TestClock.layer()))
      assertEquals(micros, 1_700_000_000_123_000)
    }),
)

hostFnTest(
  "sys_time_1 is not available where calls must be deterministic",
  (cell) => expectAllowedIn(sysTime, cell, ["zome_call", "init", "post_commit"], null),
)
