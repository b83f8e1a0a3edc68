import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Schema } from "effect"
import { ReceptorConfig } from "../config/mod.ts"
import {
  operation,
  type Receptor,
  ReceptorError,
  type ReceptorNotFound,
  Receptors,
  type StartReceptor,
} from "./mod.ts"

const decodeConfig = Schema.decodeUnknownSync(Schema.Array(ReceptorConfig))
const env = { dir: "/nonexistent", synchronous: "normal" as const }

/** A fake receptor type for the registry's own logic: echoes its input, records start and stop. */
function fakeStart(events: Array<string>, failing: ReadonlySet<string> = new Set()): StartReceptor {
  return (config) =>
    Effect.gen(function* () {
      if (failing.has(config.id)) {
        return yield* new ReceptorError({
          receptorId: config.id,
          operation: "open",
          reason: "Storage",
          detail: "disk on fire",
        })
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => events.push(`start ${config.id}`)),
        () => Effect.sync(() => events.push(`stop ${config.id}`)),
      )
      const receptor: Receptor = {
        id: config.id,
        type: config.type,
        operations: {
          echo: operation(
            Schema.Struct({ n: Schema.Int }),
            { readOnly: true, summary: "echo" },
            (input) => Effect.succeed({ from: config.id, n: input.n }),
          ),
        },
        health: Effect.succeed({ status: "ok", detail: "fine", info: {} }),
      }
      return receptor
    })
}

const reasonOf = (error: ReceptorError | ReceptorNotFound) =>
  error._tag === "ReceptorError" ? error.reason : error._tag

const configs = decodeConfig([
  { id: "s1", type: "local_store" },
  { id: "r1", type: "recovery" },
  { id: "s2", type: "local_store", default: true },
  { id: "off", type: "recovery", enabled: false },
  { id: "r2", type: "recovery" },
])

Deno.test("Receptors finds by id and type, with an explicit default or else the first in config order", async () => {
  const events: Array<string> = []
  const result = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const receptors = yield* Receptors.make(configs, env, fakeStart(events))
    const list = yield* receptors.list
    return {
      list: list.map((r) => [r.id, r.enabled, r.default, r.health.status]),
      byType: receptors.byType("recovery").map((r) => r.id),
      defaultStore: (yield* receptors.defaultOf("local_store")).id,
      defaultRecovery: (yield* receptors.defaultOf("recovery")).id,
      call: yield* receptors.call("r2", "echo", { n: 7 }),
      disabled: reasonOf(yield* Effect.flip(receptors.call("off", "echo", { n: 1 }))),
      unknown: (yield* Effect.flip(receptors.get("nope"))).message,
      badInput: reasonOf(yield* Effect.flip(receptors.call("s1", "echo", { n: "x" }))),
    }
  })))
  assertEquals(result.list, [
    ["s1", true, false, "ok"],
    ["r1", true, true, "ok"],
    ["s2", true, true, "ok"],
    ["off", false, false, "disabled"],
    ["r2", true, false, "ok"],
  ])
  assertEquals(result.byType, ["r1", "r2"])
  assertEquals(result.defaultStore, "s2")
  assertEquals(result.defaultRecovery, "r1")
  assertEquals(result.call, { from: "r2", n: 7 })
  assertEquals(result.disabled, "Disabled")
  assertEquals(result.unknown, `no receptor "nope" (known: s1, r1, s2, off, r2)`)
  assertEquals(result.badInput, "InvalidInput")
  // Started in config order, stopped in reverse when the scope closed.
  assertEquals(events, [
    "start s1",
    "start r1",
    "start s2",
    "start r2",
    "stop r2",
    "stop s2",
    "stop r1",
    "stop s1",
  ])
})

Deno.test("Receptors fails the start naming the receptor that could not start, and stops the others", async () => {
  const events: Array<string> = []
  const error = await Effect.runPromise(Effect.flip(Effect.scoped(
    Receptors.make(configs, env, fakeStart(events, new Set(["s2"]))),
  )))
  assertEquals(error._tag, "ReceptorError")
  assertEquals(error.reason, "StartFailed")
  assertEquals(error.receptorId, "s2")
  assertEquals(error.detail, "receptors.2 (type local_store) did not start: disk on fire")
  assertEquals(events, ["start s1", "start r1", "stop r1", "stop s1"])
})
