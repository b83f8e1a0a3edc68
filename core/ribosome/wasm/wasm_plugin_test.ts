import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import createPlugin, { type CallContext, type ExtismPluginOptions } from "@extism/extism"
import { inspectWasm } from "../../wasm/mod.ts"
import type { LogLevel } from "./kernel.ts"
import { buildGuest } from "./testdata/build_guest.ts"
import { wat } from "./testdata/wat.ts"
import {
  type CallResult,
  type KernelAccess,
  type PreparedWasm,
  prepareWasm,
  ShortCircuit,
  type UserHostFunction,
  WasmPlugin,
  type WasmPluginOptions,
} from "./wasm_plugin.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()
const FUEL = 1_000_000_000n

const guestDir = await Deno.makeTempDir({ prefix: "wasm_plugin_test_" })
const GUEST = await buildGuest(guestDir)
await Deno.remove(guestDir, { recursive: true })

/** Doubles its input block: the `double_it` host function the AS guest imports. */
const doubleIt: UserHostFunction = (host, offset) => {
  const input = host.read(offset) ?? new Uint8Array(0)
  const out = new Uint8Array(input.length * 2)
  out.set(input)
  out.set(input, input.length)
  return host.write(out)
}

async function create(
  bytes: Uint8Array,
  options: Partial<WasmPluginOptions> = {},
  instrument = { maxMemoryPages: 256, initialFuel: 10_000_000n },
): Promise<WasmPlugin> {
  const prepared = prepareWasm(bytes, instrument)
  if (prepared._tag !== "Prepared") throw new Error(prepared.message)
  const created = await WasmPlugin.create(prepared.module, prepared.info, {
    maxKernelBytes: 8 << 20,
    hostFunctions: { double_it: doubleIt },
    ...options,
  })
  if (created._tag !== "Created") throw new Error(created.message)
  return created.plugin
}

function ok(result: CallResult): Uint8Array {
  if (result._tag !== "Ok") {
    throw new Error(
      `expected Ok, got ${
        JSON.stringify(result, (_k, v) => typeof v === "bigint" ? String(v) : v)
      }`,
    )
  }
  return result.output
}

function trap(result: CallResult) {
  assert(result._tag === "Trap", `expected a Trap, got ${result._tag}`)
  return result
}

/** A WAT guest with the kernel imports it needs and `$out`, which outputs one i64. */
function watGuest(body: string, extraImports = ""): Uint8Array<ArrayBuffer> {
  return wat(`(module
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    ${extraImports}
    (func $out (param $v i64) (local $p i64)
      (local.set $p (call $alloc (i64.const 8)))
      (call $store_u64 (local.get $p) (local.get $v))
      (call $output_set (local.get $p) (i64.const 8)))
    ${body})`)
}

function i64Of(output: Uint8Array): bigint {
  return new DataView(output.buffer, output.byteOffset, output.byteLength).getBigInt64(0, true)
}

// ---------------------------------------------------------------------------------------------
// Runaway guests

Deno.test("WasmPlugin.call stops an infinite loop with fuelExhausted within the budget", async () => {
  const plugin = await create(
    watGuest(`(func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))`),
  )
  // The budget, not a clock, ends it: exactly the budget is spent.
  const result = trap(await plugin.call("spin", new Uint8Array(0), 5_000_000n))
  assertEquals(result.kind, "fuel_exhausted")
  assertEquals(result.fuelExhausted, true)
  assertEquals(result.fuelUsed, 5_000_000n)
  assert(plugin.poisoned)
  assertEquals(trap(await plugin.call("spin", new Uint8Array(0), 10n)).kind, "poisoned")
})

Deno.test("WasmPlugin.call turns deep recursion into a stack_overflow trap", async () => {
  const bytes = watGuest(`
    (func $rec (param i64) (result i64) (i64.add (call $rec (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
    (func (export "recurse") (result i32) (drop (call $rec (i64.const 0))) (i32.const 0))
    (func (export "seven") (result i32) (call $out (i64.const 7)) (i32.const 0))`)
  const plugin = await create(bytes)
  const result = trap(await plugin.call("recurse", new Uint8Array(0), FUEL))
  assertEquals(result.kind, "stack_overflow")
  assertEquals(result.fuelExhausted, false)
  assert(result.fuelUsed > 0n)
  assertEquals(i64Of(ok(await (await create(bytes)).call("seven", new Uint8Array(0), FUEL))), 7n)
})

Deno.test("WasmPlugin memory: memory.grow past the cap returns -1, a trap at the cap is memoryExhausted", async () => {
  const bytes = watGuest(`
    (memory (export "memory") 1 1000)
    (func (export "grow_big") (result i32) (call $out (i64.extend_i32_s (memory.grow (i32.const 10)))) (i32.const 0))
    (func (export "fill") (result i32)
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
      (unreachable))`)
  const instrument = { maxMemoryPages: 4, initialFuel: 1_000_000n }
  assertEquals(
    i64Of(
      ok(await (await create(bytes, {}, instrument)).call("grow_big", new Uint8Array(0), FUEL)),
    ),
    -1n,
  )
  const result = trap(
    await (await create(bytes, {}, instrument)).call("fill", new Uint8Array(0), FUEL),
  )
  assertEquals(result.kind, "memory_exhausted")
  assertEquals(result.memoryExhausted, true)
  assertEquals(result.fuelExhausted, false)
})

Deno.test("WasmPlugin.call traps with kernel_limit when a guest allocates past maxKernelBytes", async () => {
  const plugin = await create(
    watGuest(
      `(func (export "flood") (result i32) (loop $l (drop (call $alloc (i64.const 65536))) (br $l)) (i32.const 0))`,
    ),
    { maxKernelBytes: 1 << 20 },
  )
  const result = trap(await plugin.call("flood", new Uint8Array(0), FUEL))
  assertEquals(result.kind, "kernel_limit")
  assert(result.message.includes("per-call limit of 1048576 bytes"), result.message)
  assertEquals(result.fuelExhausted, false)
})

Deno.test("WasmPlugin.call traps with kernel_limit when the input alone exceeds maxKernelBytes", async () => {
  const plugin = await create(GUEST, { maxKernelBytes: 1024 })
  const result = trap(await plugin.call("echo", new Uint8Array(2048), FUEL))
  assertEquals(result.kind, "kernel_limit")
  assertEquals(result.fuelUsed, 0n)
})

Deno.test("WasmPlugin.create runs the start function metered and reports running out of fuel", async () => {
  const bytes = watGuest(`
    (global $ready (mut i64) (i64.const 0))
    (func $init (global.set $ready (i64.const 42)))
    (start $init)
    (func (export "ready") (result i32) (call $out (global.get $ready)) (i32.const 0))`)
  assertEquals(i64Of(ok(await (await create(bytes)).call("ready", new Uint8Array(0), FUEL))), 42n)

  const spinning = prepareWasm(
    watGuest(`(func $init (loop $l (br $l))) (start $init)`),
    { maxMemoryPages: 4, initialFuel: 10_000n },
  )
  assert(spinning._tag === "Prepared")
  const created = await WasmPlugin.create(spinning.module, spinning.info, {
    maxKernelBytes: 1 << 20,
  })
  assert(created._tag === "InstantiateError")
  assertEquals(created.fuelExhausted, true)
})

// ---------------------------------------------------------------------------------------------
// Linking and exports

async function linkError(
  bytes: Uint8Array,
  hostFunctions: Record<string, UserHostFunction> = {},
): Promise<string> {
  const prepared = prepareWasm(bytes, { maxMemoryPages: 4, initialFuel: 1000n })
  assert(prepared._tag === "Prepared")
  const created = await WasmPlugin.create(prepared.module, prepared.info, {
    maxKernelBytes: 1024,
    hostFunctions,
  })
  assert(created._tag === "LinkError", `expected a LinkError, got ${created._tag}`)
  return created.message
}

Deno.test("WasmPlugin.create refuses imports it does not provide, naming them", async () => {
  assertEquals(
    await linkError(wat(`(module (import "env" "abort" (func (param i32 i32 i32 i32))))`)),
    `unknown import env::abort (module "env" is not provided)`,
  )
  assertEquals(
    await linkError(wat(`(module (import "extism:host/env" "reset" (func)))`)),
    "unknown kernel import extism:host/env::reset",
  )
  assertEquals(
    await linkError(
      wat(`(module (import "extism:host/env" "alloc" (func (param i32) (result i32))))`),
    ),
    "kernel import extism:host/env::alloc has type (i32) -> (i32), expected (i64) -> (i64)",
  )
  assertEquals(
    await linkError(
      wat(`(module (import "extism:host/user" "get_1" (func (param i64) (result i64))))`),
    ),
    "unknown host function import extism:host/user::get_1",
  )
  assertEquals(
    await linkError(wat(`(module (import "extism:host/user" "get_1" (func (param i64))))`), {
      get_1: () => 0n,
    }),
    "host function import extism:host/user::get_1 has type (i64) -> (), expected (i64) -> (i64)",
  )
  assertEquals(
    await linkError(wat(`(module (import "extism:host/env" "g" (global i64)))`)),
    "unknown import extism:host/env::g (a global); only functions are provided",
  )
})

Deno.test("WasmPlugin.exports lists () -> i32 functions not starting with __", async () => {
  const plugin = await create(watGuest(`
    (func (export "run") (result i32) (i32.const 0))
    (func (export "__internal") (result i32) (i32.const 0))
    (func (export "with_param") (param i32) (result i32) (local.get 0))
    (func (export "no_result"))`))
  assertEquals(plugin.exports(), ["run"])
  for (const name of ["__internal", "with_param", "no_result", "missing", "__conductor_fuel"]) {
    assertEquals((await plugin.call(name, new Uint8Array(0), FUEL))._tag, "FunctionNotFound", name)
  }
  assertEquals((await create(GUEST)).exports().includes("echo"), true)
})

Deno.test("WasmPlugin runs an unmetered module with fuelUsed 0", async () => {
  const inspected = inspectWasm(GUEST)
  assert(inspected._tag === "Inspected")
  const created = await WasmPlugin.create(new WebAssembly.Module(GUEST), inspected, {
    maxKernelBytes: 1 << 20,
    hostFunctions: { double_it: doubleIt },
  })
  assert(created._tag === "Created")
  assertEquals(created.plugin.metered, false)
  const result = await created.plugin.call("echo", enc.encode("hi"), 0n)
  assertEquals(result, { _tag: "Ok", output: enc.encode("hi"), fuelUsed: 0n })
})

// ---------------------------------------------------------------------------------------------
// Host functions

const HOST_GUEST = watGuest(
  `(func (export "call_host") (result i32) (call $out (call $hostfn (i64.const 0))) (i32.const 0))`,
  `(import "extism:host/user" "hostfn" (func $hostfn (param i64) (result i64)))`,
)

Deno.test("WasmPlugin.call returns a host function's ShortCircuit as its own result", async () => {
  const plugin = await create(HOST_GUEST, {
    hostFunctions: {
      hostfn: () => {
        throw new ShortCircuit({ unresolved: ["uhCkk"] })
      },
    },
  })
  const result = await plugin.call("call_host", new Uint8Array(0), FUEL)
  assert(result._tag === "ShortCircuit")
  assertEquals(result.value, { unresolved: ["uhCkk"] })
  assert(result.fuelUsed > 0n)
  assert(plugin.poisoned)
})

Deno.test("WasmPlugin.call reports a throwing host function as a host_error trap", async () => {
  const plugin = await create(HOST_GUEST, {
    hostFunctions: {
      hostfn: () => {
        throw new Error("store is down")
      },
    },
  })
  const result = trap(await plugin.call("call_host", new Uint8Array(0), FUEL))
  assertEquals(result.kind, "host_error")
  assertEquals(result.message, "store is down")
})

Deno.test("KernelAccess.chargeFuel can exhaust the fuel of the running call", async () => {
  let remaining: bigint | undefined
  const plugin = await create(HOST_GUEST, {
    hostFunctions: {
      hostfn: (host) => {
        host.chargeFuel(100n)
        remaining = host.fuelRemaining()
        host.chargeFuel(1_000_000n)
        return 0n
      },
    },
  })
  const result = trap(await plugin.call("call_host", new Uint8Array(0), 10_000n))
  assertEquals(result.kind, "fuel_exhausted")
  assertEquals(result.fuelUsed, 10_000n)
  assert(remaining !== undefined && remaining < 10_000n - 100n)
})

Deno.test("a host function can call another plugin synchronously and use its output", async () => {
  const callee = await create(GUEST)
  let inner: CallResult | undefined
  const caller = await create(GUEST, {
    hostFunctions: {
      double_it: async (host: KernelAccess, offset: bigint) => {
        inner = await callee.call("echo", host.read(offset) ?? new Uint8Array(0), 1_000_000n)
        return host.write(inner._tag === "Ok" ? inner.output : enc.encode("inner failed"))
      },
    },
  })
  assertEquals(dec.decode(ok(await caller.call("call_host", enc.encode("from B"), FUEL))), "from B")
  assertEquals(inner?._tag, "Ok")
  assertEquals(dec.decode(ok(await caller.call("echo", enc.encode("again"), FUEL))), "again")
})

Deno.test("a host function can re-enter the same instance; the inner call is charged to the outer", async () => {
  let inner: CallResult | undefined
  const self: { plugin?: WasmPlugin } = {}
  const plugin = await create(GUEST, {
    hostFunctions: {
      double_it: async (host, offset) => {
        inner = await self.plugin!.call("echo", host.read(offset) ?? new Uint8Array(0), FUEL)
        return host.write(inner._tag === "Ok" ? inner.output : new Uint8Array(0))
      },
    },
  })
  self.plugin = plugin
  const outer = await plugin.call("call_host", enc.encode("nested"), 1_000_000n)
  assertEquals(dec.decode(ok(outer)), "nested")
  assert(inner?._tag === "Ok" && outer._tag === "Ok")
  assert(outer.fuelUsed > inner.fuelUsed)
  assertEquals(dec.decode(ok(await plugin.call("echo", enc.encode("after"), FUEL))), "after")
})

Deno.test("a trap in a re-entrant call poisons the outer call too", async () => {
  const self: { plugin?: WasmPlugin } = {}
  let inner: CallResult | undefined
  const plugin = await create(GUEST, {
    hostFunctions: {
      double_it: async (host) => {
        inner = await self.plugin!.call("abort_me", enc.encode("x"), FUEL)
        return host.write(enc.encode("carry on"))
      },
    },
  })
  self.plugin = plugin
  const outer = trap(await plugin.call("call_host", enc.encode("x"), FUEL))
  assertEquals(inner?._tag, "Trap")
  assertEquals(outer.kind, "poisoned")
  assert(plugin.poisoned)
})

// ---------------------------------------------------------------------------------------------
// The AssemblyScript guest, and conformance with @extism/extism

Deno.test("an AssemblyScript abort traps with the message its handler set (abi.md §2.1)", async () => {
  const result = trap(await (await create(GUEST)).call("abort_me", enc.encode("x"), FUEL))
  assertEquals(result.kind, "wasm_trap")
  assert(result.message.startsWith("abort: input must be empty at guest.ts:"), result.message)
})

Deno.test("a non-zero return code without error_set is a GuestError, as in native Extism", async () => {
  const result = await (await create(GUEST)).call("exit_code", new Uint8Array(0), FUEL)
  assertEquals(result._tag, "GuestError")
  assert(result._tag === "GuestError" && result.message === "guest returned non-zero exit code 7")
})

/** Deterministic pseudo-random bytes. */
function bytesOf(length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = 0x2545f491
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

type Outcome = { readonly ok: Uint8Array } | { readonly error: string }

Deno.test("the AS guest gives the same outputs under our kernel and @extism/extism", async () => {
  const config = { greeting: "hello", empty: "" }
  const logs: { ours: Array<[LogLevel, string]>; oracle: Array<[LogLevel, string]> } = {
    ours: [],
    oracle: [],
  }
  const ours = await create(GUEST, {
    config,
    hostFunctions: { double_it: doubleIt },
    logger: (level, message) => logs.ours.push([level, message]),
  })
  const record = (level: LogLevel) => (message: string) => {
    logs.oracle.push([level, message])
  }
  // The SDK types its logger as Node's Console; ours only needs the level methods.
  const logger = Object.assign(Object.create(console) as object, {
    trace: record("trace"),
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  }) as unknown as NonNullable<ExtismPluginOptions["logger"]>
  const oracle = await createPlugin({ wasm: [{ data: GUEST }] }, {
    // @extism/extism 1.0.3 reads config from the options, not the manifest.
    config,
    useWasi: false,
    runInWorker: false,
    logger,
    functions: {
      "extism:host/user": {
        double_it: (ctx: CallContext, offset: bigint) => {
          const input = ctx.read(offset)?.bytes() ?? new Uint8Array(0)
          const out = new Uint8Array(input.length * 2)
          out.set(input)
          out.set(input, input.length)
          return ctx.store(out)
        },
      },
    },
  })
  try {
    const cases: Array<[string, Uint8Array]> = [
      ["echo", enc.encode("hi")],
      ["echo", new Uint8Array(0)],
      ["echo", bytesOf(1 << 20)],
      ["nothing", enc.encode("ignored")],
      ["count", new Uint8Array(0)],
      ["count", new Uint8Array(0)],
      ["count", new Uint8Array(0)],
      ["config", enc.encode("greeting")],
      ["config", enc.encode("missing")],
      ["fail", enc.encode("bad input")],
      ["log", enc.encode("a line")],
      ["call_host", enc.encode("twice")],
      ["call_host", bytesOf(100_000)],
      ["sum", enc.encode("100000")],
    ]
    for (const [name, input] of cases) {
      const mine = await ours.call(name, input, FUEL)
      const expected: Outcome = await oracle.call(name, input).then(
        (output) => ({ ok: output === null ? new Uint8Array(0) : output.bytes() }),
        (e: unknown) => ({
          error: String(e instanceof Error ? e.message : e).replace(
            "Plugin-originated error: ",
            "",
          ),
        }),
      )
      const actual: Outcome = mine._tag === "Ok"
        ? { ok: mine.output }
        : { error: mine._tag === "GuestError" ? mine.message : `${mine._tag}` }
      assertEquals(actual, expected, `${name}(${input.length} bytes)`)
    }
    assertEquals(logs.ours, logs.oracle)
    assertEquals(logs.ours, [["info", "a line"]])
  } finally {
    await oracle.close()
  }
})

Deno.test("the AS guest's vars persist across calls until clearVars", async () => {
  const plugin = await create(GUEST)
  assertEquals(dec.decode(ok(await plugin.call("count", new Uint8Array(0), FUEL))), "1")
  assertEquals(dec.decode(ok(await plugin.call("count", new Uint8Array(0), FUEL))), "2")
  plugin.clearVars()
  assertEquals(dec.decode(ok(await plugin.call("count", new Uint8Array(0), FUEL))), "1")
})

Deno.test("fuel use is deterministic: the same call on fresh instances costs the same", async () => {
  const a = await (await create(GUEST)).call("sum", enc.encode("5000"), FUEL)
  const b = await (await create(GUEST)).call("sum", enc.encode("5000"), FUEL)
  assert(a._tag === "Ok" && b._tag === "Ok")
  assertEquals(a.fuelUsed, b.fuelUsed)
  assertEquals(dec.decode(a.output), "12497500")
  const result = trap(await (await create(GUEST)).call("sum", enc.encode("100000000"), a.fuelUsed))
  assertEquals(result.kind, "fuel_exhausted")
})

Deno.test("many calls on one instance keep working (no address exhaustion)", async () => {
  const plugin = await create(GUEST)
  const input = enc.encode("ok")
  for (let i = 0; i < 20_000; i++) {
    const result = await plugin.call("echo", input, 1_000_000n)
    if (result._tag !== "Ok") throw new Error(`call ${i} failed: ${result._tag}`)
  }
  assertEquals(dec.decode(ok(await plugin.call("echo", input, FUEL))), "ok")
})

// ---------------------------------------------------------------------------------------------
// Waiting, yielding, deadlines and output limits

const SPIN = watGuest(`(func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))`)

Deno.test("a spinning guest yields to the event loop between fuel slices", async () => {
  const plugin = await create(SPIN, { sliceFuel: 100_000n })
  let ticks = 0
  let spinning = true
  const ticker = (async () => {
    while (spinning) {
      await new Promise((resolve) => setTimeout(resolve, 0))
      ticks++
    }
  })()
  const result = trap(await plugin.call("spin", new Uint8Array(0), 20_000_000n))
  spinning = false
  await ticker
  assertEquals(result.kind, "fuel_exhausted")
  assertEquals(result.fuelUsed, 20_000_000n)
  assert(ticks > 0, "a timer ran while the guest spun")
})

Deno.test("a call past its deadline traps with deadline_exceeded at the next refuel", async () => {
  const plugin = await create(SPIN, { sliceFuel: 100_000n })
  const result = trap(
    await plugin.call("spin", new Uint8Array(0), {
      fuel: 0x7fff_ffff_ffff_ffffn,
      deadline: performance.now() + 20,
    }),
  )
  assertEquals(result.kind, "deadline_exceeded")
  assertEquals(result.fuelExhausted, false)
  assert(result.message.includes("deadline"), result.message)
})

Deno.test("a host function may await; other calls run on other instances meanwhile", async () => {
  let release: (() => void) | undefined
  const gate = new Promise<void>((resolve) => release = resolve)
  const waiting = await create(HOST_GUEST, {
    hostFunctions: {
      hostfn: async () => {
        await gate
        return 0n
      },
    },
  })
  const other = await create(GUEST)
  let done = false
  const pending = waiting.call("call_host", new Uint8Array(0), FUEL).then((r) => {
    done = true
    return r
  })
  assert(waiting.running)
  // The waiting call has not finished, yet another guest call completes.
  assertEquals(dec.decode(ok(await other.call("echo", enc.encode("meanwhile"), FUEL))), "meanwhile")
  assertEquals(done, false)
  release!()
  assertEquals(i64Of(ok(await pending)), 0n)
  assertEquals(waiting.running, false)
})

Deno.test("an output larger than maxOutputBytes traps with output_limit before it is copied", async () => {
  const plugin = await create(GUEST, { maxOutputBytes: 100 })
  assertEquals(dec.decode(ok(await plugin.call("echo", enc.encode("small"), FUEL))), "small")
  const result = trap(await plugin.call("echo", new Uint8Array(101), FUEL))
  assertEquals(result.kind, "output_limit")
  assert(result.message.includes("limit of 100 bytes"), result.message)
})

Deno.test("a synchronous plugin runs to the end on the spot and refuses a waiting host function", () => {
  const prepared = prepareWasm(HOST_GUEST, { maxMemoryPages: 4, initialFuel: 10_000_000n })
  assert(prepared._tag === "Prepared")
  const make = (hostfn: UserHostFunction) => {
    const created = WasmPlugin.createSync(prepared.module, prepared.info, {
      maxKernelBytes: 1 << 20,
      hostFunctions: { hostfn },
    })
    assert(created._tag === "Created")
    return created.plugin
  }
  assertEquals(i64Of(ok(make(() => 5n).callSync("call_host", new Uint8Array(0), FUEL))), 5n)
  const waiting = trap(
    make(() => Promise.resolve(5n)).callSync("call_host", new Uint8Array(0), FUEL),
  )
  assertEquals(waiting.kind, "host_error")
  assert(waiting.message.includes("cannot wait in a synchronous call"), waiting.message)
  const spin = WasmPlugin.createSync(
    (prepareWasm(SPIN, { maxMemoryPages: 4, initialFuel: 1000n }) as PreparedWasm).module,
    (prepareWasm(SPIN, { maxMemoryPages: 4, initialFuel: 1000n }) as PreparedWasm).info,
    { maxKernelBytes: 1 << 20, sliceFuel: 1000n },
  )
  assert(spin._tag === "Created")
  assertEquals(
    trap(spin.plugin.callSync("spin", new Uint8Array(0), 100_000n)).kind,
    "fuel_exhausted",
  )
})
