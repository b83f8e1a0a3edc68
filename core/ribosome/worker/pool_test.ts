import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { wat } from "../wasm/testdata/wat.ts"
import {
  type CallResult,
  type PreparedWasm,
  prepareWasm,
  ShortCircuit,
  type UserHostFunction,
} from "../wasm/wasm_plugin.ts"
import { type RemotePlugin, WorkerPool } from "./pool.ts"

/** Calls `hostfn` with its input (if any) and answers what it returned; `spin` never returns. */
const GUEST = wat(`(module
  (import "extism:host/env" "input_offset" (func $inputOffset (result i64)))
  (import "extism:host/env" "input_length" (func $inputLength (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $outputSet (param i64 i64)))
  (import "extism:host/user" "hostfn" (func $hostfn (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "call_host") (result i32) (local $out i64)
    (local.set $out (call $hostfn
      (if (result i64) (i64.eqz (call $inputLength))
        (then (i64.const 0))
        (else (call $inputOffset)))))
    (if (i64.ne (local.get $out) (i64.const 0))
      (then (call $outputSet (local.get $out) (call $length (local.get $out)))))
    (i32.const 0))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0)))`)

const CRASHING_WORKER = new URL(
  "../../../tests/fixtures/workers/crash_on_trap.ts",
  import.meta.url,
)
const enc = new TextEncoder()
const dec = new TextDecoder()
const FUEL = 1_000_000_000n

function prepared(): PreparedWasm {
  const result = prepareWasm(GUEST, { maxMemoryPages: 16, initialFuel: 10_000_000n })
  if (result._tag !== "Prepared") throw new Error(result.message)
  return result
}

async function remote(
  pool: WorkerPool,
  hostfn: UserHostFunction,
  cell = "cell",
): Promise<RemotePlugin> {
  const { module, info } = prepared()
  const created = await pool.create(cell, module, info, {
    maxKernelBytes: 1 << 20,
    hostFunctions: { hostfn },
  })
  if (created._tag !== "Created") throw new Error(created.message)
  return created.plugin
}

function ok(result: CallResult): string {
  if (result._tag !== "Ok") throw new Error(`expected Ok, got ${result._tag}`)
  return dec.decode(result.output)
}

/** A host function that doubles its input, on the main thread. */
const doubleIt: UserHostFunction = (host, offset) => {
  const input = host.read(offset) ?? new Uint8Array(0)
  return host.write(enc.encode(dec.decode(input).repeat(2)))
}

Deno.test("RemotePlugin runs the guest in a worker and its host function on this thread", async () => {
  const pool = new WorkerPool({ size: 1 })
  try {
    let calledHere = 0
    const plugin = await remote(pool, (host, offset) => {
      calledHere++
      host.chargeFuel(50_000n)
      return doubleIt(host, offset)
    })
    const result = await plugin.call("call_host", enc.encode("ab"), { fuel: FUEL })
    assertEquals(ok(result), "abab")
    assertEquals(calledHere, 1)
    assert(result._tag === "Ok" && result.fuelUsed > 50_000n, "the host's charge counts")
    assertEquals(pool.stats().running, 1)
  } finally {
    pool.close()
  }
})

Deno.test("a waiting host function does not hold up the worker's other calls", async () => {
  const pool = new WorkerPool({ size: 1 })
  try {
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => open = resolve)
    const waiting = await remote(
      pool,
      (host, offset) => gate.then(() => doubleIt(host, offset)),
    )
    const quick = await remote(pool, doubleIt)
    let waited = false
    const slow = waiting.call("call_host", enc.encode("w"), { fuel: FUEL }).finally(() =>
      waited = true
    )
    for (let i = 0; i < 5; i++) {
      assertEquals(
        ok(await quick.call("call_host", enc.encode(`${i}`), { fuel: FUEL })),
        `${i}${i}`,
      )
    }
    assertEquals(waited, false)
    open()
    assertEquals(ok(await slow), "ww")
  } finally {
    pool.close()
  }
})

Deno.test("a host function's short circuit, fuel charge and error reach the guest in the worker", async () => {
  const pool = new WorkerPool({ size: 1 })
  try {
    const short = await remote(pool, () => {
      throw new ShortCircuit({ unresolved: [Uint8Array.of(1, 2)] })
    })
    const stopped = await short.call("call_host", new Uint8Array(0), { fuel: FUEL })
    assert(stopped._tag === "ShortCircuit")
    assertEquals(stopped.value, { unresolved: [Uint8Array.of(1, 2)] })
    assert(short.poisoned)

    const greedy = await remote(pool, (host) => {
      host.chargeFuel(1_000_000n)
      return 0n
    })
    const spent = await greedy.call("call_host", new Uint8Array(0), { fuel: 10_000n })
    assert(spent._tag === "Trap")
    assertEquals(spent.kind, "fuel_exhausted")

    const broken = await remote(pool, () => Promise.reject(new Error("store is down")))
    const failed = await broken.call("call_host", new Uint8Array(0), { fuel: FUEL })
    assert(failed._tag === "Trap")
    assertEquals([failed.kind, failed.message], ["host_error", "store is down"])
  } finally {
    pool.close()
  }
})

Deno.test("a spinning guest in a worker stops at its deadline", async () => {
  const pool = new WorkerPool({ size: 1 })
  try {
    const plugin = await remote(pool, doubleIt)
    const result = await plugin.call("spin", new Uint8Array(0), {
      fuel: 1_000_000_000_000_000n,
      deadline: performance.now() + 100,
    })
    assert(result._tag === "Trap")
    assertEquals(result.kind, "deadline_exceeded")
    assertEquals(pool.stats().died, 0)
  } finally {
    pool.close()
  }
})

Deno.test("WorkerPool gives two cells two workers and keeps a cell on its worker", async () => {
  const pool = new WorkerPool({ size: 2 })
  try {
    await remote(pool, doubleIt, "a")
    await remote(pool, doubleIt, "a")
    assertEquals(pool.stats().running, 1)
    await remote(pool, doubleIt, "b")
    assertEquals(pool.stats().running, 2)
  } finally {
    pool.close()
  }
})

Deno.test("a worker that dies fails its calls with worker_died and is replaced", async () => {
  const pool = new WorkerPool({ size: 1, url: CRASHING_WORKER })
  try {
    const plugin = await remote(pool, doubleIt)
    const result = await plugin.call("trap", new Uint8Array(0), { fuel: FUEL })
    assert(result._tag === "Trap")
    assertEquals(result.kind, "worker_died")
    assert(result.message.includes("a worker bug, injected by the test"), result.message)
    assert(plugin.poisoned)
    assertEquals(pool.stats().died, 1)
    const next = await remote(pool, doubleIt)
    assertEquals(ok(await next.call("call_host", enc.encode("z"), { fuel: FUEL })), "zz")
    assertEquals(pool.stats().started, 2)
  } finally {
    pool.close()
  }
})

Deno.test("WorkerPool.close ends the calls in flight with worker_died", async () => {
  const pool = new WorkerPool({ size: 1 })
  const plugin = await remote(pool, () => new Promise<bigint>(() => {}))
  const pending = plugin.call("call_host", new Uint8Array(0), { fuel: FUEL })
  await new Promise((resolve) => setTimeout(resolve, 0))
  pool.close()
  const result = await pending
  assert(result._tag === "Trap")
  assertEquals(result.kind, "worker_died")
})

Deno.test("a worker that never answers a create is terminated and the create fails", async () => {
  const pool = new WorkerPool({
    size: 1,
    url: new URL("../../../tests/fixtures/workers/silent.ts", import.meta.url),
    createTimeoutMs: 300,
  })
  try {
    const { module, info } = prepared()
    const created = await pool.create("cell", module, info, {
      maxKernelBytes: 1 << 20,
      hostFunctions: { hostfn: doubleIt },
    })
    assert(created._tag === "InstantiateError", created._tag)
    assert(created.message.includes("did not create an instance within 300 ms"), created.message)
    assertEquals(pool.stats().died, 1)
  } finally {
    pool.close()
  }
})
