import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Logger, References } from "effect"
import { MAX_TRACE_CHARS, trace } from "./trace.ts"
import { ALL_KINDS, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

/** Runs `effect` with a logger that keeps what it is given. */
function captureLogs<A, E, R>(effect: Effect.Effect<A, E, R>) {
  const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
  const logger = Logger.make<unknown, void>((options) => {
    lines.push({
      level: options.logLevel,
      message: options.message,
      annotations: Object.fromEntries(
        Object.entries(options.fiber.getRef(References.CurrentLogAnnotations)),
      ),
    })
  })
  return effect.pipe(
    Effect.provide(Logger.layer([logger])),
    Effect.provideService(References.MinimumLogLevel, "Trace"),
    Effect.map((value) => ({ value, lines })),
  )
}

hostFnTest(
  "trace_1 logs the message at its level, naming the zome and function",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const { value, lines } = yield* captureLogs(
        Effect.gen(function* () {
          yield* run(trace, ctx, { level: "warn", message: "careful" })
          return yield* run(trace, ctx, { level: "trace", message: "details" })
        }),
      )
      assertEquals(value, null)
      assertEquals(lines.map((l) => [l.level, l.message]), [["Warn", ["careful"]], [
        "Trace",
        ["details"],
      ]])
      assertEquals(lines[0]!.annotations.zome, "posts")
      assertEquals(lines[0]!.annotations.fn, "create_post")
    }),
)

hostFnTest(
  "trace_1 cuts a long message and refuses an unknown level",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const { lines } = yield* captureLogs(
        run(trace, ctx, { level: "info", message: "x".repeat(MAX_TRACE_CHARS + 10) }),
      )
      const text = (lines[0]!.message as Array<string>)[0]!
      assert(text.startsWith("x".repeat(MAX_TRACE_CHARS)))
      assert(text.endsWith("(10 more characters cut)"), text.slice(-40))
      yield* expectError(trace, ctx, { level: "loud", message: "hi" }, "invalid_input", "trace_1")
      yield* expectError(trace, ctx, { level: "info" }, "invalid_input")
    }),
)

hostFnTest(
  "trace_1 runs in every kind of call",
  (cell) => expectAllowedIn(trace, cell, ALL_KINDS, { level: "info", message: "hi" }),
)
