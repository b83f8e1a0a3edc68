import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, PubSub } from "effect"
import { Signals } from "../../signals/mod.ts"
import { emitSignal, MAX_SIGNAL_BYTES } from "./emit_signal.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "emit_signal_1 publishes the signal for the cell's app and zome",
  (cell) =>
    Effect.gen(function* () {
      const subscription = yield* (yield* Signals).subscribe
      const signal = new Uint8Array([1, 2, 3])
      assertEquals(yield* run(emitSignal, yield* cell.context(), signal), null)
      assertEquals(yield* PubSub.take(subscription), {
        appId: "host_fn_app",
        cellId: cell.cell.cellId,
        zomeName: "posts",
        signal,
      })
    }),
)

hostFnTest(
  "emit_signal_1 refuses a signal over 4 MiB and publishes nothing",
  (cell) =>
    Effect.gen(function* () {
      const subscription = yield* (yield* Signals).subscribe
      const ctx = yield* cell.context()
      yield* expectError(
        emitSignal,
        ctx,
        new Uint8Array(MAX_SIGNAL_BYTES + 1),
        "limit",
        `${MAX_SIGNAL_BYTES}`,
      )
      yield* expectError(emitSignal, ctx, "not bytes", "invalid_input", "emit_signal_1")
      assertEquals(yield* PubSub.remaining(subscription), 0)
    }),
)

hostFnTest(
  "emit_signal_1 runs only in calls, never in validation",
  (cell) =>
    expectAllowedIn(emitSignal, cell, ["zome_call", "init", "post_commit"], new Uint8Array([1])),
)
