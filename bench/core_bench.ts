/**
 * Benchmarks of the conductor core, in process (no interface in the way):
 * - a trivial zome call (`noop`), p50/p99 in µs;
 * - create entry (validated, signed, committed to a real SQLite file with the default
 *   `synchronous = normal`) per second for one agent, and how it holds up as the chain grows to
 *   100,000 actions; the same at 1,000 actions with `synchronous = full` for comparison;
 * - installing the forum example into a warm conductor.
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect } from "effect"
import { cpuUsage } from "node:process"
import { Apps } from "../core/app/mod.ts"
import type { RunningCell } from "../core/cell/mod.ts"
import { Chain } from "../core/chain/mod.ts"
import { encode } from "../core/codec/mod.ts"
import { ZomeCalls } from "../core/workflow/zome_call.ts"
import {
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../tests/support/conductor.ts"

/** One measurement. */
export interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly detail?: string
}

function quantile(sorted: ReadonlyArray<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

function emit(result: Result) {
  console.log(JSON.stringify(result))
}

async function zomeCall(
  conductor: TestConductor,
  cell: RunningCell,
  zome: string,
  fn: string,
  payload: Uint8Array,
) {
  return await conductor.runPromise(Effect.gen(function* () {
    const calls = yield* ZomeCalls
    return yield* calls.call({
      cellId: cell.cellId,
      zome,
      fn,
      payload,
      provenance: cell.agent,
      capSecret: null,
    })
  }))
}

async function trivialCall(dir: string) {
  const conductor = makeConductor({
    file: `${dir}/trivial.sqlite3`,
    config: "log: {level: error}\n",
  })
  const cell =
    (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
  const payload = encode(null)
  for (let i = 0; i < 2000; i++) await zomeCall(conductor, cell, "noop", "noop", payload)
  const samples: Array<number> = []
  const cpu = cpuUsage()
  for (let i = 0; i < 20_000; i++) {
    const start = performance.now()
    await zomeCall(conductor, cell, "noop", "noop", payload)
    samples.push((performance.now() - start) * 1000)
  }
  samples.sort((a, b) => a - b)
  emit({
    name: "trivial zome call in conductor, p50",
    value: quantile(samples, 0.5),
    unit: "µs",
    detail: `p99 ${quantile(samples, 0.99).toFixed(1)} µs, 20,000 calls; ${
      (cpuMicros(cpu) / 20_000).toFixed(1)
    } µs of the process's CPU per call`,
  })
  await conductor.dispose()
}

/** CPU time (user + system, µs) this process used since `since`. */
function cpuMicros(since: ReturnType<typeof cpuUsage>): number {
  const now = cpuUsage(since)
  return now.user + now.system
}

async function createRate(
  conductor: TestConductor,
  cell: RunningCell,
  count: number,
  start: number,
  cpu?: { micros: number },
) {
  const since = cpuUsage()
  const begin = performance.now()
  for (let i = 0; i < count; i++) {
    await zomeCall(
      conductor,
      cell,
      "host_fns",
      "call_create",
      encode({ entry_type: "thing", entry: { value: start + i } }),
    )
  }
  if (cpu !== undefined) cpu.micros += cpuMicros(since)
  return count / ((performance.now() - begin) / 1000)
}

async function createEntries(
  dir: string,
  synchronous: "normal" | "full",
  only?: ReadonlyArray<number>,
) {
  const conductor = makeConductor({
    file: `${dir}/creates-${synchronous}.sqlite3`,
    config: `log: {level: error}\nstorage: {synchronous: ${synchronous}}\n`,
  })
  const cell =
    (await installApp(conductor, await packed("tests/fixtures/happs/host_fns"), "host_fns"))[
      "host_fns"
    ]!
  const chain = await conductor.runPromise(Effect.service(Chain))
  await createRate(conductor, cell, 300, 0)
  const rates: Array<string> = []
  let first = 0
  let last = 0
  // Grow the chain to 100k actions in batches of 100 creates per call, measuring single-create
  // calls at each checkpoint.
  const targets = only ?? (synchronous === "normal" ? [1_000, 10_000, 50_000, 100_000] : [1_000])
  for (const target of targets) {
    while (chain.length(cell.dna.hash, cell.agent) < target - 1_000) {
      const batch = Array.from({ length: 100 }, (_, i) => i + 1)
      await zomeCall(conductor, cell, "host_fns", "create_many", encode(batch))
    }
    const samples: Array<number> = []
    const cpu = { micros: 0 }
    for (let run = 0; run < 3; run++) {
      samples.push(await createRate(conductor, cell, 500, target + run * 500, cpu))
    }
    samples.sort((a, b) => a - b)
    const median = samples[1]!
    if (first === 0) first = median
    last = median
    rates.push(`${target / 1000}k: ${median.toFixed(0)}/s`)
    emit({
      name: `create entry per second at ${target.toLocaleString("en")} actions, ${synchronous}`,
      value: median,
      unit: "creates/s",
      detail: `one agent, synchronous=${synchronous}, median of 3 × 500 calls; ${
        (1500 / (cpu.micros / 1e6)).toFixed(0)
      } creates per second of the process's CPU`,
    })
  }
  if (targets.length > 1) {
    emit({
      name: `create entry rate at 100,000 actions as a share of the rate at 1,000, ${synchronous}`,
      value: (last / first) * 100,
      unit: "%",
      detail: rates.join(", "),
    })
  }
  await conductor.dispose()
}

async function install(dir: string) {
  const conductor = makeConductor({
    file: `${dir}/install.sqlite3`,
    config: "log: {level: error}\n",
  })
  const happ = await packed("examples/forum")
  await installApp(conductor, happ, "warmup")
  const samples: Array<number> = []
  for (let i = 0; i < 30; i++) {
    const start = performance.now()
    await conductor.runPromise(
      Effect.flatMap(
        Effect.service(Apps),
        (apps) =>
          apps.install({ source: { type: "bytes", value: happ }, installedAppId: `forum${i}` }),
      ),
    )
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  emit({
    name: "install the forum example (warm conductor), p50",
    value: quantile(samples, 0.5),
    unit: "ms",
    detail: `p90 ${quantile(samples, 0.9).toFixed(1)} ms, 30 installs, genesis included`,
  })
  await conductor.dispose()
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir()
  const only = Deno.args[0]
  if (only === undefined || only === "trivial") await trivialCall(dir)
  if (only === undefined || only === "install") await install(dir)
  if (only === undefined || only === "create") await createEntries(dir, "normal")
  if (only === undefined || only === "create-full") await createEntries(dir, "full")
  // Only the first checkpoint, for quick before/after comparisons.
  if (only === "create-1k") await createEntries(dir, "normal", [1_000])
  await Deno.remove(dir, { recursive: true })
}
