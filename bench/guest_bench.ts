/**
 * Guest-side cost of the PDK: µs per `validate` callback (the three ops a create produces) and
 * per `call_sys_time` zome call (one host function), measured through the real ribosome on warm
 * instances. Used to tune the AssemblyScript PDK; prints medians of several runs.
 *
 * Every call is warmed up together before anything is timed: V8 compiles wasm in tiers, and a
 * warm-up per call would leave the first one timed paying for the others' tier-up.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect } from "effect"
import { Chain } from "../core/chain/mod.ts"
import { encode } from "../core/codec/mod.ts"
import { Ribosome } from "../core/ribosome/ribosome.ts"
import type { HostCallContext } from "../core/ribosome/context.ts"
import { recordWire } from "../core/types/mod.ts"
import { callZome, installApp, makeConductor, packed } from "../tests/support/conductor.ts"

const WARMUP_ROUNDS = 3000
const CALLS_PER_RUN = 2000
const RUNS = 7

const conductor = makeConductor()
const happ = await packed("tests/fixtures/happs/host_fns")
const cell = (await installApp(conductor, happ, "h"))["host_fns"]!
await callZome(conductor, cell, "host_fns", "call_create", {
  entry_type: "thing",
  entry: { value: 1 },
})
const [ribosome, chain] = await conductor.runPromise(
  Effect.all([Effect.service(Ribosome), Effect.service(Chain)]),
)
const records = await conductor.runPromise(
  chain.query(cell.dna.hash, cell.agent, { entryTypes: ["app:0:0"] }),
)
const record = records.at(-1)!

function median(samples: Array<number>): number {
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]!
}

/** Median over RUNS of the µs per call of `f`. */
async function time(f: () => Promise<unknown>): Promise<number> {
  const runs: Array<number> = []
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now()
    for (let i = 0; i < CALLS_PER_RUN; i++) await f()
    runs.push(((performance.now() - start) * 1000) / CALLS_PER_RUN)
  }
  return median(runs)
}

const validateCtx: HostCallContext = {
  kind: "validate",
  cell,
  zome: cell.dna.integrity[0]!,
  fnName: "validate",
  provenance: cell.agent,
  capGrant: { type: "chain_author" },
  workspace: null,
  depth: 0,
  unresolved: [],
  call: () => Effect.succeed({ type: "error", value: "" }),
}
const sysTimeCtx: HostCallContext = {
  ...validateCtx,
  kind: "zome_call",
  zome: cell.dna.coordinators[0]!,
  fnName: "call_sys_time",
}
const nil = encode(null)

interface Case {
  readonly label: string
  readonly call: () => Promise<unknown>
}

const cases: Array<Case> = ["store_record", "store_entry", "register_agent_activity"].map(
  (type) => {
    const op = encode({
      type,
      record: recordWire(record),
      "entry_type": "thing",
      "link_type": null,
    })
    return {
      label: `validate ${type}: %s µs (${op.length} B op)`,
      call: () => Effect.runPromise(ribosome.call(validateCtx, "validate", op)),
    }
  },
)
cases.push({
  label: "zome call call_sys_time (one host call): %s µs",
  call: () => Effect.runPromise(ribosome.call(sysTimeCtx, "call_sys_time", nil)),
})

for (let i = 0; i < WARMUP_ROUNDS; i++) for (const c of cases) await c.call()
for (const c of cases) console.log(c.label.replace("%s", (await time(c.call)).toFixed(1)))
await conductor.dispose()
