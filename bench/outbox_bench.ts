/**
 * What the durable outbox costs a commit: create-entry calls (validated, signed, committed to a
 * real SQLite file, `synchronous = normal`) with the outbox's `enqueue` on and, as the baseline
 * in the same process, replaced by a no-op. Rounds alternate so that load on a shared machine
 * hits both sides alike. Not in `bench/run.ts`'s report; run it by hand:
 * `deno run -A bench/outbox_bench.ts [rounds] [calls]`.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect } from "effect"
import { encode } from "../core/codec/mod.ts"
import { Outbox, type OutboxShape } from "../core/space/mod.ts"
import { ZomeCalls } from "../core/workflow/mod.ts"
import { installApp, makeConductor, packed } from "../tests/support/conductor.ts"

const rounds = Number(Deno.args[0] ?? 7)
const calls = Number(Deno.args[1] ?? 300)

const dir = await Deno.makeTempDir()
const conductor = makeConductor({
  file: `${dir}/outbox.sqlite3`,
  config: "log: {level: error}\n",
})
const cell =
  (await installApp(conductor, await packed("tests/fixtures/happs/host_fns"), "host_fns"))[
    "host_fns"
  ]!
const outbox = await conductor.runPromise(Effect.service(Outbox))
const enqueue = outbox.enqueue
const setEnqueue = (on: boolean) => {
  ;(outbox as { -readonly [K in keyof OutboxShape]: OutboxShape[K] }).enqueue = on
    ? enqueue
    : () => {}
}

let value = 0
const rate = async () => {
  const begin = performance.now()
  for (let i = 0; i < calls; i++) {
    await conductor.runPromise(Effect.gen(function* () {
      const zomeCalls = yield* ZomeCalls
      return yield* zomeCalls.call({
        cellId: cell.cellId,
        zome: "host_fns",
        fn: "call_create",
        payload: encode({ entry_type: "thing", entry: { value: value++ } }),
        provenance: cell.agent,
        capSecret: null,
      })
    }))
  }
  return calls / ((performance.now() - begin) / 1000)
}

await rate() // warm up
const on: Array<number> = []
const off: Array<number> = []
for (let round = 0; round < rounds; round++) {
  setEnqueue(round % 2 === 0)
  ;(round % 2 === 0 ? on : off).push(await rate())
  setEnqueue(round % 2 !== 0)
  ;(round % 2 === 0 ? off : on).push(await rate())
}
setEnqueue(true)
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(JSON.stringify({
  name: "create entry per second with the outbox",
  value: median(on),
  unit: "creates/s",
  detail: `baseline without enqueue ${median(off).toFixed(0)}/s, ratio ${
    (median(on) / median(off)).toFixed(3)
  }; median of ${rounds} alternating rounds of ${calls} calls; with: ${
    on.map((x) => x.toFixed(0)).join(", ")
  }; without: ${off.map((x) => x.toFixed(0)).join(", ")}`,
}))
await conductor.dispose()
await Deno.remove(dir, { recursive: true })
