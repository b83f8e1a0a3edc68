/**
 * Calls of different cells on several cores (`ribosome.workers`): throughput of one client on
 * one cell next to two clients on two cells, with guest workers (the default, 2) and without
 * (`workers: 0`, everything on the main thread), for two workloads:
 * - a CPU-bound zome function (`spin/work`: 2,000,000 turns of an xorshift loop in wasm);
 * - create entry (`host_fns/call_create`: validated, signed, committed to a real SQLite file).
 * Rounds alternate between the set-ups (and which goes first) so that a change in the machine's
 * load hits all of them; each result is the median of the rounds. Next to each ratio: how many
 * cores the process kept busy (CPU time of all its threads per second), which shows whether the
 * work spread over cores even when others' load leaves no core idle. The load average before and after is printed
 * with the results: the machine is shared, and a loaded machine gives two threads a larger
 * share of it than one, so the ratios are only meaningful next to the load.
 *
 * Run: `deno run -A bench/parallel_bench.ts [--rounds 5] [--ms 1500]`.
 *
 * @module
 */
import { Effect } from "effect"
import type { RunningCell } from "../core/cell/mod.ts"
import { encode } from "../core/codec/mod.ts"
import { ZomeCalls } from "../core/workflow/zome_call.ts"
import {
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../tests/support/conductor.ts"
import { emit, median } from "./report.ts"

const WORK_TURNS = 2_000_000

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name)
  const value = at >= 0 ? Number(Deno.args[at + 1]) : fallback
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number`)
  return value
}

const rounds = option("--rounds", 5)
const windowMs = option("--ms", 1500)

function call(
  conductor: TestConductor,
  cell: RunningCell,
  zome: string,
  fn: string,
  payload: unknown,
) {
  return conductor.runPromise(Effect.gen(function* () {
    const calls = yield* ZomeCalls
    return yield* calls.call({
      cellId: cell.cellId,
      zome,
      fn,
      payload: encode(payload),
      provenance: cell.agent,
      capSecret: null,
    })
  }))
}

/** CPU time this process (every thread) has used, in seconds (Linux `/proc/self/stat`). */
function cpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Cores this process kept busy during each measurement, by key. */
const cores = new Map<string, Array<number>>()

/** Completed calls per second of `clients` running back to back for `windowMs`. */
async function rate(key: string, clients: ReadonlyArray<() => Promise<unknown>>): Promise<number> {
  let done = 0
  const cpu = cpuSeconds()
  const start = performance.now()
  const end = start + windowMs
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < end) {
      await client()
      done++
    }
  }))
  const seconds = (performance.now() - start) / 1000
  cores.set(key, [...cores.get(key) ?? [], (cpuSeconds() - cpu) / seconds])
  return done / seconds
}

interface SetUp {
  readonly conductor: TestConductor
  readonly work: ReadonlyArray<() => Promise<unknown>>
  readonly create: ReadonlyArray<() => Promise<unknown>>
}

async function setUp(dir: string, workers: number): Promise<SetUp> {
  const conductor = makeConductor({
    file: `${dir}/parallel-${workers}.sqlite3`,
    config: `log: {level: error}\nribosome: {workers: ${workers}}\n`,
  })
  const misbehave = await packed("tests/fixtures/happs/misbehave")
  const hostFns = await packed("tests/fixtures/happs/host_fns")
  const busy = [
    (await installApp(conductor, misbehave, "a"))["misbehave"]!,
    (await installApp(conductor, misbehave, "b"))["misbehave"]!,
  ]
  const writers = [
    (await installApp(conductor, hostFns, "c"))["host_fns"]!,
    (await installApp(conductor, hostFns, "d"))["host_fns"]!,
  ]
  let value = 0
  const work = busy.map((cell) => () => call(conductor, cell, "spin", "work", WORK_TURNS))
  const create = writers.map((cell) => () =>
    call(conductor, cell, "host_fns", "call_create", {
      entry_type: "thing",
      entry: { value: value++ },
    })
  )
  // Warm up: instances, JIT tiers, and the fuel history that moves `work` to the workers.
  for (let i = 0; i < 10; i++) {
    for (const f of [...work, ...create]) await f()
  }
  return { conductor, work, create }
}

const load = () => Deno.loadavg().map((l) => l.toFixed(1)).join(", ")

if (import.meta.main) {
  const dir = await Deno.makeTempDir()
  const loadBefore = load()
  const modes = [0, 2] as const
  const setUps = new Map<number, SetUp>()
  for (const workers of modes) setUps.set(workers, await setUp(dir, workers))
  const samples = new Map<string, Array<number>>()
  const add = (key: string, value: number) => samples.set(key, [...samples.get(key) ?? [], value])
  for (let round = 0; round < rounds; round++) {
    // Alternate which set-up goes first, so that neither always runs after the other's work.
    for (const workers of round % 2 === 0 ? modes : [...modes].reverse()) {
      const s = setUps.get(workers)!
      for (const workload of ["work", "create"] as const) {
        const key = `${workload}/${workers}`
        add(`${key}/1`, await rate(`${key}/1`, s[workload].slice(0, 1)))
        add(`${key}/2`, await rate(`${key}/2`, s[workload]))
      }
    }
  }
  for (const s of setUps.values()) await s.conductor.dispose()
  await Deno.remove(dir, { recursive: true })
  const loadAfter = load()
  const m = (key: string) => median(samples.get(key)!)
  const labels = { work: "CPU-bound zome function", create: "create entry" } as const
  for (const workload of ["work", "create"] as const) {
    for (const workers of modes) {
      const one = samples.get(`${workload}/${workers}/1`)!
      const two = samples.get(`${workload}/${workers}/2`)!
      const mode = workers === 0 ? "workers 0 (main thread only)" : `workers ${workers}`
      emit({
        name: `${labels[workload]}, two clients on two cells vs one, ${mode}`,
        // The ratio within each round (measured back to back), then the median of the rounds.
        value: median(two.map((t, i) => t / one[i]!)),
        unit: "x",
        detail: `median ${median(two).toFixed(0)} calls/s vs ${
          median(one).toFixed(0)
        } calls/s; the process kept ${
          median(cores.get(`${workload}/${workers}/2`)!).toFixed(2)
        } vs ${
          median(cores.get(`${workload}/${workers}/1`)!).toFixed(2)
        } cores busy; ${rounds} rounds of ${windowMs} ms; load average before ${loadBefore}, after ${loadAfter}`,
      })
    }
    const ratio = median(
      samples.get(`${workload}/2/1`)!.map((t, i) => t / samples.get(`${workload}/0/1`)![i]!),
    )
    emit({
      name: `${labels[workload]}, one client, workers 2 vs workers 0`,
      value: ratio,
      unit: "x",
      detail: `${m(`${workload}/2/1`).toFixed(0)} calls/s vs ${
        m(`${workload}/0/1`).toFixed(0)
      } calls/s (what the thread hop costs one client)`,
    })
  }
}
