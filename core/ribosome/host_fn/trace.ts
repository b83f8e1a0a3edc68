/**
 * `trace_1`: a log line from the guest, tagged with its cell and zome (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { encodeHashB64 } from "../../hash/mod.ts"
import { ANYWHERE, defineHostFn } from "./host_fn.ts"

/** Longest trace message kept; longer ones are cut (a guest must not flood the log). */
export const MAX_TRACE_CHARS = 16 * 1024

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
    const text = message.length > MAX_TRACE_CHARS
      ? `${message.slice(0, MAX_TRACE_CHARS)}… (${
        message.length - MAX_TRACE_CHARS
      } more characters cut)`
      : message
    return log(text).pipe(
      Effect.annotateLogs({
        zome: ctx.zome.name,
        fn: ctx.fnName,
        agent: encodeHashB64(ctx.cell.agent).slice(0, 12),
      }),
      Effect.as(null),
    )
  },
})
