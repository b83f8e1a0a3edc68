import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Schema } from "effect"
import { ReceptorConfig } from "../config/mod.ts"
import { isGranted, operation, type Receptor, Receptors, type StartReceptor } from "./mod.ts"

const decodeConfig = Schema.decodeUnknownSync(Schema.Array(ReceptorConfig))
const env = { dir: "/nonexistent", synchronous: "normal" as const }
const DNA = "uhC0k" + "A".repeat(48)
const OTHER_DNA = "uhC0k" + "B".repeat(48)

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

const configs = decodeConfig([
  { id: "open_to_app", type: "local_store", grants: { apps: ["app"] } },
  { id: "open_to_dna", type: "local_store", default: true, grants: { dnas: [DNA] } },
  { id: "closed", type: "recovery" },
  { id: "off", type: "recovery", enabled: false, grants: { apps: ["app"] } },
])

type Outcome = { ok?: unknown; error?: string; message?: string }

function callAs(
  caller: { appId: string; dnaHash: string },
  target: unknown,
  input: unknown,
): Promise<Outcome> {
  return Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const receptors = yield* Receptors.make(configs, env, echo)
    return yield* receptors.callAs(
      caller,
      target as { id: string },
      "echo",
      input,
    ).pipe(
      Effect.map((value) => ({ ok: value })),
      Effect.catchTags({
        ReceptorError: (e) => Effect.succeed<Outcome>({ error: e.reason }),
        ReceptorNotFound: (e) => Effect.succeed<Outcome>({ error: e._tag }),
        ReceptorNotGranted: (e) => Effect.succeed<Outcome>({ error: e._tag, message: e.message }),
      }),
    )
  })))
}

Deno.test("grants default to none and decode apps and DNA hashes", () => {
  assertEquals(configs[2]?.grants, { apps: [], dnas: [] })
  assertEquals(isGranted(configs[0]!.grants, { appId: "app", dnaHash: OTHER_DNA }), true)
  assertEquals(isGranted(configs[1]!.grants, { appId: "x", dnaHash: DNA }), true)
  assertEquals(isGranted(configs[1]!.grants, { appId: "app", dnaHash: OTHER_DNA }), false)
  assert(
    Schema.decodeUnknownExit(ReceptorConfig)({
      id: "x",
      type: "local_store",
      grants: { dnas: ["uhCAk" + "A".repeat(48)] },
    })._tag === "Failure",
    "an agent key is not a DNA hash",
  )
})

Deno.test("Receptors.callAs admits a granted app or DNA and refuses others, naming both", async () => {
  const app = { appId: "app", dnaHash: OTHER_DNA }
  const byDna = { appId: "other", dnaHash: DNA }
  assertEquals(await callAs(app, { id: "open_to_app" }, { n: 1 }), {
    ok: { from: "open_to_app", n: 1 },
  })
  assertEquals(await callAs(byDna, { id: "open_to_dna" }, { n: 2 }), {
    ok: { from: "open_to_dna", n: 2 },
  })
  const refused = await callAs(byDna, { id: "open_to_app" }, { n: 1 })
  assertEquals(refused.error, "ReceptorNotGranted")
  assert(refused.message?.includes(`receptor "open_to_app"`), refused.message)
  assert(refused.message?.includes(`app "other"`), refused.message)
  assertEquals((await callAs(app, { id: "closed" }, { n: 1 })).error, "ReceptorNotGranted")
})

Deno.test("Receptors.callAs by type reaches the default, and checks the grant before anything else", async () => {
  const byDna = { appId: "other", dnaHash: DNA }
  assertEquals(await callAs(byDna, { type: "local_store" }, { n: 3 }), {
    ok: { from: "open_to_dna", n: 3 },
  })
  // The default of local_store is open_to_dna: the app's grant on open_to_app does not count.
  assertEquals(
    (await callAs({ appId: "app", dnaHash: OTHER_DNA }, { type: "local_store" }, { n: 3 })).error,
    "ReceptorNotGranted",
  )
  assertEquals((await callAs(byDna, { id: "nope" }, {})).error, "ReceptorNotFound")
  assertEquals((await callAs(byDna, { type: "conductor" }, {})).error, "ReceptorNotFound")
  // Not granted: refused before its state (disabled) or the input is looked at.
  assertEquals((await callAs(byDna, { id: "off" }, { n: "x" })).error, "ReceptorNotGranted")
  assertEquals((await callAs({ appId: "app", dnaHash: DNA }, { id: "off" }, {})).error, "Disabled")
  assertEquals((await callAs(byDna, { id: "open_to_dna" }, { n: "x" })).error, "InvalidInput")
})
