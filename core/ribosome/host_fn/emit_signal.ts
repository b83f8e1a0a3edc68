/**
 * `emit_signal_1`: sends the zome's msgpack signal to every app websocket of the running app
 * (abi.md §4.6, conductor-api.md §3.3). Delivery is immediate, not tied to the commit.
 *
 * @module
 */
import { Effect, Metric, Schema } from "effect"
import { signalsEmitted } from "../../metrics/mod.ts"
import { Signals } from "../../signals/mod.ts"
import { CALLS, defineHostFn, HostFnError } from "./host_fn.ts"

/** Largest signal, in bytes (as an entry): a client must be able to take it in one frame. */
export const MAX_SIGNAL_BYTES = 4 * 1024 * 1024

export const emitSignal = defineHostFn({
  name: "emit_signal_1",
  input: Schema.Uint8Array,
  allowedIn: CALLS,
  run: (ctx, signal) =>
    Effect.gen(function* () {
      if (signal.length > MAX_SIGNAL_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `emit_signal_1: signal of ${signal.length} bytes is over the ${MAX_SIGNAL_BYTES}-byte limit`,
        })
      }
      const signals = yield* Signals
      signals.publish({
        appId: ctx.cell.appId,
        cellId: ctx.cell.cellId,
        zomeName: ctx.zome.name,
        signal,
      })
      yield* Metric.update(signalsEmitted, 1)
      return null
    }),
})
