/**
 * Benchmarks of the engine (asynchronous guest calls, preemption from the fuel meter):
 * - fuel rate: how many fuel units a spinning guest burns per second here, which calibrates
 *   `ribosome.fuel_per_call` and `ribosome.fuel_per_slice`;
 * - isolation: the latency of a trivial call on cell B while cell A runs fuel-exhausting calls
 *   back to back, next to the same latency with cell A idle;
 * - waiting: trivial calls per second while 50 calls each wait 100 ms in a host function
 *   (re-issued as they finish), next to the same rate with nothing waiting;
 * - interfaces: a `conductor run` subprocess driven by `@holochain/client`; one app client runs
 *   fuel-exhausting `spin/spin` calls back to back on cell A while another measures admin
 *   `list_apps` and a trivial zome call on cell B over the app websocket, next to the same
 *   latencies with cell A idle.
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * Run: `deno run -A bench/engine_bench.ts [fuel] [isolation] [waiting] [interfaces]` (all when
 * none is named); `--slice N` and `--workers N` run the isolation and interfaces parts with
 * `ribosome.fuel_per_slice: N` and `ribosome.workers: N`.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import type { RunningCell } from "../core/cell/mod.ts"
import { encode } from "../core/codec/mod.ts"
import { conductorServices } from "../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../core/config/mod.ts"
import { Keystore } from "../core/keystore/mod.ts"
import { type AnyHostFn, ANYWHERE, defineHostFn } from "../core/ribosome/host_fn/host_fn.ts"
import { HostFns, hostFnsByName } from "../core/ribosome/host_fn/registry.ts"
import { Store } from "../core/store/mod.ts"
import { ZomeCalls } from "../core/workflow/zome_call.ts"
import { installApp, packed } from "../tests/support/conductor.ts"
import {
  closeClient,
  connectAdmin,
  installEnabled,
  openApp,
  startConductor,
} from "../tests/e2e/support.ts"
import { emit, quantile } from "./report.ts"

/** A conductor whose registry also has `test_wait_1` (waits `waitMs`), for the `wait` zome. */
function makeBenchConductor(config: string, waitMs: number) {
  const testWait = defineHostFn({
    name: "test_wait_1",
    input: Schema.Unknown,
    allowedIn: ANYWHERE,
    run: () => Effect.as(Effect.sleep(waitMs), null),
  })
  const hostFns = new Map<string, AnyHostFn>([
    ...hostFnsByName,
    [testWait.name, testWait as AnyHostFn],
  ])
  return ManagedRuntime.make(
    conductorServices({ store: Store.layerMemory, keystore: Keystore.layerTest() }).pipe(
      Layer.provideMerge(ConductorConfig.fromYaml(config)),
      Layer.provideMerge(Layer.succeed(HostFns, hostFns)),
    ),
  )
}

type BenchConductor = ReturnType<typeof makeBenchConductor>

function call(conductor: BenchConductor, cell: RunningCell, zome: string, fn: string) {
  return conductor.runPromise(Effect.gen(function* () {
    const calls = yield* ZomeCalls
    return yield* Effect.result(calls.call({
      cellId: cell.cellId,
      zome,
      fn,
      payload: encode(null),
      provenance: cell.agent,
      capSecret: null,
    }))
  }))
}

/**
 * Latencies (µs, sorted) of `count` sequential trivial calls. With `arrivals`, each call arrives
 * as a request does, in a macrotask of its own (`setImmediate`), and is timed from the moment it
 * was queued: a call started from a microtask would run before any other macrotask (a spinning
 * guest on this thread yields with `setImmediate` after each fuel slice), so it could never wait
 * behind the guest; queued, it waits for the slice running at the time, as a request does.
 */
async function latencies(
  conductor: BenchConductor,
  cell: RunningCell,
  count: number,
  arrivals = false,
) {
  const samples: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    if (arrivals) await new Promise((resolve) => setImmediate(resolve))
    const result = await call(conductor, cell, "noop", "noop")
    if (result._tag !== "Success") throw new Error(`noop failed: ${result.failure.detail}`)
    samples.push((performance.now() - start) * 1000)
  }
  return samples.sort((a, b) => a - b)
}

async function fuelRate() {
  const budget = 2_000_000_000
  const conductor = makeBenchConductor(
    `log: {level: error}\nribosome: {fuel_per_call: ${budget}, call_timeout_ms: 600000}\n`,
    0,
  )
  const bad =
    (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
      "misbehave"
    ]!
  await call(conductor, bad, "spin", "spin")
  const runs: Array<number> = []
  for (let i = 0; i < 5; i++) {
    const start = performance.now()
    const result = await call(conductor, bad, "spin", "spin")
    if (result._tag === "Success" || !result.failure.detail.includes("ran out of fuel")) {
      throw new Error("spin/spin should run out of fuel")
    }
    runs.push(budget / ((performance.now() - start) / 1000))
  }
  runs.sort((a, b) => a - b)
  const rate = runs[2]!
  emit({
    name: "fuel burnt per second by a spinning guest",
    value: rate / 1e9,
    unit: "G fuel/s",
    detail: `median of 5 spins of ${budget / 1e9}e9 fuel; the default budget 1e10 lasts ${
      (1e10 / rate).toFixed(2)
    } s, a 5e6 slice ${(5e6 / rate * 1000).toFixed(2)} ms`,
  })
  await conductor.dispose()
}

/** `ribosome:` settings from `--slice N` and `--workers N`, as YAML flow-map entries. */
function ribosomeArgs() {
  const at = (flag: string) => {
    const i = Deno.args.indexOf(flag)
    return i >= 0 ? Number(Deno.args[i + 1]) : undefined
  }
  const slice = at("--slice")
  const workers = at("--workers")
  const entries = [
    ...(slice === undefined ? [] : [`fuel_per_slice: ${slice}`]),
    ...(workers === undefined ? [] : [`workers: ${workers}`]),
  ]
  return {
    slice,
    workers,
    yaml: entries.length === 0 ? "" : `ribosome: {${entries.join(", ")}}\n`,
    label: `${slice === undefined ? "" : `; fuel_per_slice ${slice}`}${
      workers === undefined ? "; default workers" : `; workers ${workers}`
    }`,
  }
}

async function isolation() {
  const args = ribosomeArgs()
  const conductor = makeBenchConductor(`log: {level: error}\n${args.yaml}`, 0)
  const bad =
    (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
      "misbehave"
    ]!
  const good =
    (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
  await latencies(conductor, good, 500, true)
  const idle = await latencies(conductor, good, 2000, true)
  let spinning = true
  let spins = 0
  const spinner = (async () => {
    while (spinning) {
      await call(conductor, bad, "spin", "spin")
      spins++
    }
  })()
  // Let the first spin get going.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const busy = await latencies(conductor, good, 2000, true)
  spinning = false
  await spinner
  emit({
    name: "trivial call on cell B while cell A spins, p99",
    value: quantile(busy, 0.99) / 1000,
    unit: "ms",
    detail:
      `p50 ${(quantile(busy, 0.5)).toFixed(0)} µs; A idle: p50 ${
        quantile(idle, 0.5).toFixed(0)
      } µs, p99 ${(quantile(idle, 0.99)).toFixed(0)} µs; 2,000 calls, each queued as a macrotask ` +
      `and timed from then; ${spins + 1} spins of 1e10 fuel${args.label}`,
  })
  await conductor.dispose()
}

async function waiting() {
  const conductor = makeBenchConductor("log: {level: error}\n", 100)
  const cell =
    (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
  const rate = async (ms: number) => {
    let calls = 0
    const end = performance.now() + ms
    while (performance.now() < end) {
      const result = await call(conductor, cell, "noop", "noop")
      if (result._tag !== "Success") throw new Error("noop failed")
      calls++
      // Calls arrive as I/O events do: a macrotask every 10 calls lets timers fire (a loop of
      // promise-only calls would starve the 100 ms timers of the waiting calls).
      if (calls % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    return calls / (ms / 1000)
  }
  await rate(500)
  const alone = await rate(2000)
  let waiting = true
  let waited = 0
  const waiters = Array.from({ length: 50 }, async () => {
    while (waiting) {
      const result = await call(conductor, cell, "wait", "wait")
      if (result._tag !== "Success") throw new Error(`wait failed: ${result.failure.detail}`)
      waited++
    }
  })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const before = waited
  const withWaiters = await rate(2000)
  const waitRate = (waited - before) / 2
  waiting = false
  await Promise.all(waiters)
  emit({
    name: "trivial calls per second while 50 calls wait 100 ms",
    value: withWaiters,
    unit: "calls/s",
    detail: `${alone.toFixed(0)}/s with nothing waiting (${
      (withWaiters / alone * 100).toFixed(0)
    } %); the waiting calls completed ${waitRate.toFixed(0)}/s (ideal 500/s)`,
  })
  await conductor.dispose()
}

/** Latencies (µs, sorted) of `count` sequential runs of `request`. */
async function timed(count: number, request: () => Promise<unknown>) {
  const samples: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await request()
    samples.push((performance.now() - start) * 1000)
  }
  return samples.sort((a, b) => a - b)
}

async function interfaces() {
  const args = ribosomeArgs()
  const conductor = await startConductor({
    adminOrigins: "bench",
    ...(args.yaml === "" ? {} : { extraConfig: args.yaml }),
  })
  const admin = await connectAdmin(conductor.adminPort, "bench")
  const spinCell = await installEnabled(admin, "spin", { happName: "misbehave", role: "misbehave" })
  const noopCell = await installEnabled(admin, "noop", { happName: "noop", role: "noop" })
  const appPort = (await admin.attachAppInterface({ allowed_origins: "e2e-app" })).port
  await admin.authorizeSigningCredentials(spinCell)
  await admin.authorizeSigningCredentials(noopCell)
  const spinApp = await openApp(admin, appPort, "spin")
  const noopApp = await openApp(admin, appPort, "noop")
  const listApps = () => admin.listApps({})
  const noop = () =>
    noopApp.callZome({ role_name: "noop", zome_name: "noop", fn_name: "noop", payload: null })
  // Enough samples for a p99 (the 5 slowest of 500) without minutes of spinning.
  const count = 500
  await timed(200, listApps)
  await timed(200, noop)
  const idleAdmin = await timed(count, listApps)
  const idleApp = await timed(count, noop)
  let spinning = true
  let spins = 0
  let spinStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => spinStarted = resolve)
  const spinner = (async () => {
    while (spinning) {
      const call = spinApp.callZome(
        { role_name: "misbehave", zome_name: "spin", fn_name: "spin", payload: null },
        600_000,
      )
      spinStarted()
      const outcome = await call.then(() => "returned", (error: Error) => error.message)
      // On a loaded machine a spin of the default budget may hit the call's deadline first.
      if (!outcome.includes("ran out of fuel") && !outcome.includes("deadline")) {
        throw new Error(`spin/spin: ${outcome}`)
      }
      spins++
    }
  })()
  await started
  // Let the first spin get going in the conductor.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const busyAdmin = await timed(count, listApps)
  const busyApp = await timed(count, noop)
  spinning = false
  await spinner
  const detail = (idle: ReadonlyArray<number>, busy: ReadonlyArray<number>) =>
    `p50 ${quantile(busy, 0.5).toFixed(0)} µs; A idle: p50 ${
      quantile(idle, 0.5).toFixed(0)
    } µs, p99 ${quantile(idle, 0.99).toFixed(0)} µs; ${count} requests, ${spins} spins of the ` +
    `default fuel budget ran meanwhile${args.label}`
  emit({
    name: "admin list_apps over the websocket while cell A spins, p99",
    value: quantile(busyAdmin, 0.99) / 1000,
    unit: "ms",
    detail: detail(idleAdmin, busyAdmin),
  })
  emit({
    name: "trivial call on cell B over the app websocket while cell A spins, p99",
    value: quantile(busyApp, 0.99) / 1000,
    unit: "ms",
    detail: detail(idleApp, busyApp),
  })
  await closeClient(spinApp)
  await closeClient(noopApp)
  await closeClient(admin)
  await conductor.stop()
}

const PARTS = { fuel: fuelRate, isolation, waiting, interfaces } as const
const named = Deno.args.filter((a): a is keyof typeof PARTS => a in PARTS)
for (const [name, part] of Object.entries(PARTS)) {
  if (named.length === 0 || named.includes(name as keyof typeof PARTS)) await part()
}
