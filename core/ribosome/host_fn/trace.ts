/**
 * `trace_1`: a log line from the guest, tagged with its cell and zome (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { encodeHashB64 } from "../../hash/mod.ts"
import { ANYWHERE, defineHostFn } from "./host_fn.ts"

export const trace = defineHostFn({
  name: "trace_1",
  input: Schema.Struct({
    level: Schema.Literals(["trace", "debug", "info", "warn", "error"]),
    message: Schema.String,
  }),
  allowedIn: ANYWHERE,
  run: (ctx, { level, message }) => {
    const log = level === "trace"
      ? Effect.logTrace
      : level === "debug"
      ? Effect.logDebug
      : level === "info"
      ? Effect.logInfo
      : level === "warn"
      ? Effect.logWarning
      : Effect.logError
    return log(message).pipe(
      Effect.annotateLogs({
        zome: ctx.zome.name,
        fn: ctx.fnName,
        agent: encodeHashB64(ctx.cell.agent).slice(0, 12),
      }),
      Effect.as(null),
    )
  },
})
