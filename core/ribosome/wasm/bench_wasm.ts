/**
 * Micro-benchmark of the ribosome's wasm layer (not a test). Run with
 * `deno run -A core/ribosome/wasm/bench_wasm.ts`. Prints medians over several runs of:
 *
 * - µs per trivial call (the AssemblyScript guest's `echo` of 2 bytes) under our kernel,
 *   metered and unmetered, and under `@extism/extism` 1.0.3 in foreground mode with `reset()`;
 * - the cost of fuel metering (the same guest instrumented vs not) on that call and on a
 *   compute-bound call (`sum`);
 * - fuel units per second for a tight loop and for the AS guest's `sum`, to relate a call's fuel
 *   budget to wall time;
 * - instrumentation time for a ~100 KB module.
 *
 * @module
 */
import createPlugin from "@extism/extism"
import { inspectWasm, instrumentWasm } from "../../wasm/mod.ts"
import { buildGuest } from "./testdata/build_guest.ts"
import { wat } from "./testdata/wat.ts"
import { type CallResult, prepareWasm, type UserHostFunction, WasmPlugin } from "./wasm_plugin.ts"

const RUNS = 7
const enc = new TextEncoder()

function print(line: string): void {
  Deno.stdout.writeSync(enc.encode(line + "\n"))
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Median over RUNS of `run()`'s result (each run returns its own measurement). */
async function medianOf(run: () => number | Promise<number>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < RUNS; i++) samples.push(await run())
  return median(samples)
}

function expectOk(result: CallResult): bigint {
  if (result._tag !== "Ok") throw new Error(`call failed: ${JSON.stringify(result._tag)}`)
  return result.fuelUsed
}

const doubleIt: UserHostFunction = (host, offset) =>
  host.write(host.read(offset) ?? new Uint8Array(0))

const dir = await Deno.makeTempDir({ prefix: "bench_wasm_" })
const guest = await buildGuest(dir)
await Deno.remove(dir, { recursive: true })

async function ourPlugin(metered: boolean): Promise<WasmPlugin> {
  const options = { maxKernelBytes: 16 << 20, hostFunctions: { double_it: doubleIt } }
  if (metered) {
    const prepared = prepareWasm(guest, { maxMemoryPages: 256, initialFuel: 100_000_000n })
    if (prepared._tag !== "Prepared") throw new Error(prepared.message)
    const created = await WasmPlugin.create(prepared.module, prepared.info, options)
    if (created._tag !== "Created") throw new Error(created.message)
    return created.plugin
  }
  const info = inspectWasm(guest)
  if (info._tag !== "Inspected") throw new Error(info.message)
  const created = await WasmPlugin.create(new WebAssembly.Module(guest), info, options)
  if (created._tag !== "Created") throw new Error(created.message)
  return created.plugin
}

const FUEL = 10_000_000_000n
const ECHO_CALLS = 20_000
const input = enc.encode("hi")

async function usPerCall(
  plugin: WasmPlugin,
  name: string,
  payload: Uint8Array,
  calls: number,
): Promise<number> {
  for (let i = 0; i < 200; i++) expectOk(await plugin.call(name, payload, FUEL))
  const t0 = performance.now()
  for (let i = 0; i < calls; i++) expectOk(await plugin.call(name, payload, FUEL))
  return ((performance.now() - t0) * 1000) / calls
}

const metered = await ourPlugin(true)
const unmetered = await ourPlugin(false)
const oursMetered = await medianOf(() => usPerCall(metered, "echo", input, ECHO_CALLS))
const oursUnmetered = await medianOf(() => usPerCall(unmetered, "echo", input, ECHO_CALLS))
const echoFuel = expectOk(await metered.call("echo", input, FUEL))

const oracle = await createPlugin({ wasm: [{ data: guest }] }, {
  useWasi: false,
  runInWorker: false,
  functions: {
    "extism:host/user": { double_it: (_ctx: unknown, offset: bigint) => offset },
  },
})
const extismUs = await medianOf(async () => {
  for (let i = 0; i < 200; i++) {
    await oracle.call("echo", input)
    await oracle.reset()
  }
  const t0 = performance.now()
  for (let i = 0; i < ECHO_CALLS; i++) {
    await oracle.call("echo", input)
    await oracle.reset()
  }
  return ((performance.now() - t0) * 1000) / ECHO_CALLS
})
await oracle.close()

print(`trivial call (AS echo, 2 bytes), median of ${RUNS} runs x ${ECHO_CALLS} calls:`)
print(`  our kernel, metered      ${oursMetered.toFixed(2)} µs/call  (${echoFuel} fuel/call)`)
print(`  our kernel, unmetered    ${oursUnmetered.toFixed(2)} µs/call`)
print(`  @extism/extism + reset   ${extismUs.toFixed(2)} µs/call`)

// Fuel overhead on compute: the AS guest's `sum` of 0..n-1 (an i64 loop).
const SUM_N = enc.encode("1000000")
const sumMetered = await medianOf(() => usPerCall(metered, "sum", SUM_N, 20))
const sumUnmetered = await medianOf(() => usPerCall(unmetered, "sum", SUM_N, 20))
const sumFuel = expectOk(await metered.call("sum", SUM_N, FUEL))
print(`compute-bound call (AS sum, n = 1e6):`)
print(
  `  metered ${(sumMetered / 1000).toFixed(3)} ms, unmetered ${
    (sumUnmetered / 1000).toFixed(3)
  } ms ` +
    `(+${((sumMetered / sumUnmetered - 1) * 100).toFixed(0)}%), ${sumFuel} fuel ` +
    `= ${(Number(sumFuel) / (sumMetered / 1e6) / 1e6).toFixed(0)} M fuel/s`,
)

// A tight loop: one i32 decrement and branch per iteration.
const loopModule = wat(`(module
  (func (export "run") (param $n i32) (result i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $n)))`)
const loopMetered = instrumentWasm(loopModule, { maxMemoryPages: 1, initialFuel: 0n })
if (loopMetered._tag !== "Instrumented") throw new Error(loopMetered.message)
const plainLoop = new WebAssembly.Instance(new WebAssembly.Module(loopModule)).exports
const fuelLoop = new WebAssembly.Instance(new WebAssembly.Module(loopMetered.bytes)).exports
const runPlain = plainLoop["run"] as (n: number) => number
const runFuel = fuelLoop["run"] as (n: number) => number
const fuelGlobal = fuelLoop["__conductor_fuel"] as WebAssembly.Global
const ITER = 100_000_000
runPlain(1000)
fuelGlobal.value = FUEL
runFuel(1000)
const plainNs = await medianOf(() => {
  const t0 = performance.now()
  runPlain(ITER)
  return ((performance.now() - t0) * 1e6) / ITER
})
let loopFuel = 0n
const fuelNs = await medianOf(() => {
  fuelGlobal.value = FUEL
  const t0 = performance.now()
  runFuel(ITER)
  const ns = ((performance.now() - t0) * 1e6) / ITER
  loopFuel = FUEL - (fuelGlobal.value as bigint)
  return ns
})
const perIteration = Number(loopFuel) / ITER
print(`tight loop (${ITER / 1e6}M iterations of local.tee/i32.sub/br_if):`)
print(
  `  ${plainNs.toFixed(2)} ns/iteration unmetered, ${fuelNs.toFixed(2)} ns/iteration metered ` +
    `(+${(fuelNs - plainNs).toFixed(2)} ns per fuel check)`,
)
print(
  `  ${perIteration.toFixed(0)} fuel/iteration = ${
    (perIteration / fuelNs * 1000).toFixed(0)
  } M fuel/s`,
)

// A loop over a kernel call (`length(0)`): the case where instruction count underestimates time.
const hostLoop = wat(`(module
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (func (export "run") (result i32) (local $n i32)
    (local.set $n (i32.const 1000000))
    (loop $l
      (drop (call $length (i64.const 0)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.const 0)))`)
const hostPrepared = prepareWasm(hostLoop, { maxMemoryPages: 1, initialFuel: 0n })
if (hostPrepared._tag !== "Prepared") throw new Error(hostPrepared.message)
const hostCreated = await WasmPlugin.create(hostPrepared.module, hostPrepared.info, {
  maxKernelBytes: 1024,
})
if (hostCreated._tag !== "Created") throw new Error(hostCreated.message)
const hostPlugin = hostCreated.plugin
const hostFuel = expectOk(await hostPlugin.call("run", new Uint8Array(0), FUEL))
const hostNs = await medianOf(async () => {
  const t0 = performance.now()
  expectOk(await hostPlugin.call("run", new Uint8Array(0), FUEL))
  return ((performance.now() - t0) * 1e6) / 1e6
})
const hostPerIteration = Number(hostFuel) / 1e6
print(`kernel-call loop (1M iterations of call length(0) + loop):`)
print(
  `  ${hostNs.toFixed(1)} ns/iteration, ${hostPerIteration.toFixed(0)} fuel/iteration ` +
    `= ${(hostPerIteration / hostNs * 1000).toFixed(0)} M fuel/s with hostCallCost 1; ` +
    `hostCallCost ${Math.round(hostNs / fuelNs * perIteration)} would match the tight loop's rate`,
)

// Instrumentation time for a ~100 KB module: many functions with loops, branches and calls.
const functions: string[] = []
for (let i = 0; i < 1100; i++) {
  functions.push(`(func $f${i} (export "f${i}") (param $a i32) (param $b i64) (result i64)
    (local $i i32) (local $acc i64)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $a)))
      (local.set $acc (i64.add (local.get $acc) (i64.mul (local.get $b) (i64.extend_i32_u (local.get $i)))))
      (if (i32.and (local.get $i) (i32.const 1))
        (then (local.set $acc (i64.xor (local.get $acc) (i64.const 0x5555))))
        (else (local.set $acc (i64.rotl (local.get $acc) (i64.const 3)))))
      (i64.store (i32.and (local.get $i) (i32.const 0xff8)) (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i64.add (local.get $acc) (i64.load offset=8 (i32.const 0))))`)
}
const bigModule = wat(`(module (memory 1) ${functions.join("\n")})`)
const instrumentOnce = () => {
  const t0 = performance.now()
  const result = instrumentWasm(bigModule, { maxMemoryPages: 16, initialFuel: 1n })
  if (result._tag !== "Instrumented") throw new Error(result.message)
  return { ms: performance.now() - t0, result }
}
const first = instrumentOnce()
for (let i = 0; i < 20; i++) instrumentOnce()
const instrumentMs = await medianOf(() => instrumentOnce().ms)
const validateMs = await medianOf(() => {
  const t0 = performance.now()
  WebAssembly.validate(bigModule)
  return performance.now() - t0
})
const rewritten = first.result
print(
  `instrumentation of a ${
    (bigModule.length / 1024).toFixed(0)
  } KB module (${functions.length} functions, ` +
    `${rewritten.fuelChecks} fuel checks, output +${
      ((rewritten.bytes.length / bigModule.length - 1) * 100).toFixed(0)
    }%):`,
)
print(
  `  ${instrumentMs.toFixed(2)} ms warm (two WebAssembly.validate passes: ~${
    (2 * validateMs).toFixed(2)
  } ms), ` +
    `${first.ms.toFixed(1)} ms for the first module in the process`,
)
