/**
 * `receptor_call_1` from real zomes (the `receptor_caller` fixture, built from AssemblyScript) in
 * a conductor with real receptors: a zome reaches only the receptors granted to its app or DNA,
 * an ungranted, unknown or disabled receptor and a bad operation or input are errors the zome
 * can read, validation may not call receptors, and a receptor operation that waits holds up no
 * other call.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { conductorServices } from "../../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { encodeHashB64 } from "../../core/hash/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { operation, Receptors } from "../../core/receptors/mod.ts"
import { Store } from "../../core/store/mod.ts"
import {
  callZome,
  callZomeError,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../support/conductor.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"

type Answer = {
  ok?: { type: string; value?: unknown; reason?: string; detail?: string }
  err?: { kind: string; message: string }
}

Deno.test("receptor_call_1 reaches granted receptors only, with errors a zome can read", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-call-" })
  const happ = await packed("tests/fixtures/happs/receptor_caller")
  // The DNA hash to grant by: install once in a throwaway conductor.
  const probe = makeConductor({ config: `data_dir: ${dir}/probe\nlog: {level: error}\n` })
  const dnaHash = await installApp(probe, happ, "probe").then((cells) =>
    encodeHashB64(cells["main"]!.cellId[0])
  ).finally(() => disposeConductor(probe))

  const conductor = makeConductor({
    config: `data_dir: ${dir}/data
log: {level: error}
receptors:
  - id: notes
    type: local_store
    grants: {apps: [granted]}
  - id: private
    type: local_store
  - id: by_dna
    type: local_store
    grants: {dnas: ["${dnaHash}"]}
  - id: off
    type: local_store
    enabled: false
    grants: {apps: [granted]}
`,
  })
  try {
    const granted = (await installApp(conductor, happ, "granted"))["main"]!
    const other = (await installApp(conductor, happ, "other"))["main"]!
    const call = (cell = granted, input: unknown) =>
      callZome(conductor, cell, "receptor_caller", "call_receptor", input) as Promise<Answer>

    await step(t, "a granted app writes and reads through the typed PDK wrapper", async () => {
      const answer = await callZome(conductor, granted, "receptor_caller", "put_get", {
        receptor: "notes",
        key: "greeting",
        value: "hello",
      })
      assertEquals(answer, {
        ok: { type: "ok", value: { key: "greeting", value: "hello", version: 1 } },
      })
      // The zome wrote to the receptor operators see.
      const seen = await conductor.runPromise(
        Effect.flatMap(
          Effect.service(Receptors),
          (r) => r.call("notes", "get", { key: "greeting" }),
        ),
      )
      assertEquals(seen, { key: "greeting", value: "hello", version: 1 })
    })

    await step(t, "an app the receptor is not granted to is refused, naming both", async () => {
      const answer = await call(other, { receptor: "notes", operation: "get", input: { key: "k" } })
      assertEquals(answer.err?.kind, "unauthorized")
      assert(answer.err.message.includes(`receptor "notes"`), answer.err.message)
      assert(answer.err.message.includes(`app "other"`), answer.err.message)
      // Nothing is granted by default, not even to the app that has other grants.
      const none = await call(granted, {
        receptor: "private",
        operation: "get",
        input: { key: "k" },
      })
      assertEquals(none.err?.kind, "unauthorized")
    })

    await step(t, "a grant by DNA hash admits every app of that DNA", async () => {
      for (const cell of [granted, other]) {
        const answer = await call(cell, {
          receptor: "by_dna",
          operation: "put",
          input: { key: "k", value: 1 },
        })
        assertEquals(answer.ok?.type, "ok", JSON.stringify(answer))
      }
    })

    await step(t, "the default receptor of a type is reached by type", async () => {
      const answer = await callZome(conductor, granted, "receptor_caller", "call_default", {
        type: "local_store",
        operation: "get",
        input: { key: "greeting" },
      })
      assertEquals(answer, {
        ok: { type: "ok", value: { key: "greeting", value: "hello", version: 1 } },
      })
      const missing = await callZome(conductor, granted, "receptor_caller", "call_default", {
        type: "recovery",
        operation: "list",
        input: {},
      }) as Answer
      assertEquals(missing.err?.kind, "not_found")
    })

    await step(t, "an unknown receptor is not_found, naming it", async () => {
      const answer = await call(granted, { receptor: "nope", operation: "get", input: {} })
      assertEquals(answer.err?.kind, "not_found")
      assert(answer.err.message.includes(`"nope"`), answer.err.message)
    })

    await step(t, "a bad operation or input is the receptor's typed error", async () => {
      const unknownOp = await call(granted, { receptor: "notes", operation: "drop", input: {} })
      assertEquals(unknownOp.ok?.type, "error")
      assertEquals(unknownOp.ok.reason, "UnknownOperation")
      assert(unknownOp.ok.detail?.includes(`"drop"`), unknownOp.ok.detail)
      const badInput = await call(granted, {
        receptor: "notes",
        operation: "put",
        input: { key: 5 },
      })
      assertEquals(badInput.ok?.reason, "InvalidInput")
      assert(badInput.ok.detail?.includes("key"), badInput.ok.detail)
      // Bytes are not JSON: a receptor never sees them.
      const bytes = await call(granted, {
        receptor: "notes",
        operation: "put",
        input: { key: "b", value: new Uint8Array(3) },
      })
      assertEquals(bytes.ok?.reason, "InvalidInput")
      const disabled = await call(granted, { receptor: "off", operation: "get", input: {} })
      assertEquals(disabled.ok?.reason, "Disabled")
    })

    await step(t, "malformed host input is invalid_input", async () => {
      for (
        const input of [
          { receptor: "notes", type: "local_store", operation: "get" },
          { operation: "get" },
          { receptor: "notes" },
          { receptor: "x".repeat(65), operation: "get" },
          "notes",
        ]
      ) {
        const answer = await call(granted, input)
        assertEquals(answer.err?.kind, "invalid_input", JSON.stringify(input))
      }
    })

    await step(t, "validation may not call a receptor, granted or not", async () => {
      const error = await callZomeError(
        conductor,
        granted,
        "receptor_caller",
        "create_checked",
        "notes",
      )
      assertEquals(error.reason, "InvalidCommit")
      assert(error.detail.includes("receptor_call_1: denied"), error.detail)
    })
  } finally {
    await cleanup([
      ["disposing the conductor", () => disposeConductor(conductor)],
      ["removing the data folder", () => Deno.remove(dir, { recursive: true })],
    ])
  }
})

/** A conductor whose one receptor, `slow`, has an operation `wait` that waits for `gate`. */
function slowReceptorConductor(dir: string, gate: Promise<void>, entered: () => void) {
  const configText = `data_dir: ${dir}
log: {level: error}
receptors:
  - id: slow
    type: local_store
    grants: {apps: [slow]}
`
  const receptors = Layer.effect(
    Receptors,
    Effect.gen(function* () {
      const config = yield* ConductorConfig
      return yield* Receptors.make(
        config.receptors,
        { dir, synchronous: "normal" },
        (c) =>
          Effect.succeed({
            id: c.id,
            type: "slow",
            operations: {
              wait: operation(Schema.Struct({ n: Schema.Number }), {
                readOnly: true,
                summary: "waits for the test's gate, then answers its input",
              }, (input) =>
                Effect.sync(entered).pipe(
                  Effect.andThen(Effect.promise(() => gate)),
                  Effect.as(input),
                )),
            },
            health: Effect.succeed({ status: "ok" as const, detail: "", info: {} }),
          }),
      )
    }),
  )
  const layer = conductorServices({
    store: Store.layerMemory,
    keystore: Keystore.layerTest(),
    receptors,
  }).pipe(Layer.provideMerge(ConductorConfig.fromYaml(configText)))
  return ManagedRuntime.make(layer) as unknown as TestConductor
}

Deno.test("a receptor operation that waits holds up no other zome call", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-wait-" })
  let entered = 0
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => open = resolve)
  const conductor = slowReceptorConductor(dir, gate, () => entered++)
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/receptor_caller"), "slow"))[
        "main"
      ]!
    let finished = 0
    const waiting = Array.from(
      { length: 10 },
      (_, n) =>
        callZome(conductor, cell, "receptor_caller", "call_receptor", {
          receptor: "slow",
          operation: "wait",
          input: { n },
        }).then((answer) => {
          finished++
          return answer
        }),
    )
    await waitFor(() => entered === 10, "10 calls to enter the slow receptor", { intervalMs: 5 })
    // Same cell, same zome: the waiting calls suspend their own instances only.
    for (let i = 0; i < 20; i++) {
      assertEquals(await callZome(conductor, cell, "receptor_caller", "noop"), null)
    }
    assertEquals(finished, 0, "the receptor calls are still waiting")
    open()
    assertEquals(
      await Promise.all(waiting),
      Array.from({ length: 10 }, (_, n) => ({ ok: { type: "ok", value: { n } } })),
    )
  } finally {
    open()
    await cleanup([
      ["disposing the conductor", () => disposeConductor(conductor)],
      ["removing the data folder", () => Deno.remove(dir, { recursive: true })],
    ])
  }
})
