import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Layer, Schema } from "effect"
import { ReceptorConfig } from "../../config/mod.ts"
import { operation, type Receptor, Receptors, type StartReceptor } from "../../receptors/mod.ts"
import { CALLS } from "./host_fn.ts"
import { receptorCall } from "./receptor_call.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

/** Every receptor echoes `n`; the test cell's app is `host_fn_app`. */
const echo: StartReceptor = (config) =>
  Effect.succeed(
    {
      id: config.id,
      type: config.type,
      operations: {
        echo: operation(
          Schema.Struct({ n: Schema.Int }),
          { readOnly: true, summary: "echo" },
          (input) => Effect.succeed({ from: config.id, n: input.n }),
        ),
      },
      health: Effect.succeed({ status: "ok", detail: "", info: {} }),
    } satisfies Receptor,
  )

const receptors = Layer.effect(
  Receptors,
  Receptors.make(
    Schema.decodeUnknownSync(Schema.Array(ReceptorConfig))([
      { id: "granted", type: "local_store", grants: { apps: ["host_fn_app"] } },
      { id: "closed", type: "recovery" },
    ]),
    { dir: "/nonexistent", synchronous: "normal" },
    echo,
  ),
)

hostFnTest(
  "receptor_call_1 calls a granted receptor by id or by its type's default",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const byId = yield* run(receptorCall, ctx, {
        receptor: "granted",
        operation: "echo",
        input: { n: 7 },
      })
      assertEquals(byId, { type: "ok", value: { from: "granted", n: 7 } })
      const byType = yield* run(receptorCall, ctx, {
        type: "local_store",
        operation: "echo",
        input: { n: 1 },
      })
      assertEquals(byType, { type: "ok", value: { from: "granted", n: 1 } })
    }).pipe(Effect.provide(receptors)),
)

hostFnTest(
  "receptor_call_1 returns the receptor's own failure as a value the zome can branch on",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const out = (yield* run(receptorCall, ctx, {
        receptor: "granted",
        operation: "echo",
        input: { n: "seven" },
      })) as { type: string; reason: string }
      assertEquals([out.type, out.reason], ["error", "InvalidInput"])
    }).pipe(Effect.provide(receptors)),
)

hostFnTest(
  "receptor_call_1 refuses receptors not granted to the app, unknown ones, and unclear targets",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(
        receptorCall,
        ctx,
        { receptor: "closed", operation: "echo", input: { n: 1 } },
        "unauthorized",
        "closed",
        "host_fn_app",
      )
      yield* expectError(
        receptorCall,
        ctx,
        { receptor: "nowhere", operation: "echo" },
        "not_found",
        "nowhere",
      )
      yield* expectError(
        receptorCall,
        ctx,
        { receptor: "granted", type: "local_store", operation: "echo" },
        "invalid_input",
        "exactly one",
      )
      yield* expectError(receptorCall, ctx, { operation: "echo" }, "invalid_input", "exactly one")
      yield* expectError(receptorCall, ctx, { receptor: "", operation: "echo" }, "invalid_input")
    }).pipe(Effect.provide(receptors)),
)

hostFnTest(
  "receptor_call_1 runs only in calls that may wait, never in validation",
  (cell) =>
    expectAllowedIn(receptorCall, cell, [...CALLS], {
      receptor: "granted",
      operation: "echo",
      input: { n: 1 },
    }).pipe(Effect.provide(receptors)),
)
