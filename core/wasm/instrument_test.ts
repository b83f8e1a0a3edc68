import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict"
import {
  FUEL_EXPORT,
  inspectWasm,
  type InstrumentedWasm,
  type InstrumentOptions,
  instrumentWasm,
  REFUEL_EXPORT,
  START_EXPORT,
} from "./instrument.ts"
import { wat } from "../ribosome/wasm/testdata/wat.ts"

const OPTIONS: InstrumentOptions = { maxMemoryPages: 16, initialFuel: 1_000_000n }

function instrument(bytes: Uint8Array, options = OPTIONS): InstrumentedWasm {
  const result = instrumentWasm(bytes, options)
  if (result._tag === "InstrumentError") throw new Error(`unexpected error: ${result.message}`)
  return result
}

function errorOf(bytes: Uint8Array, options = OPTIONS) {
  const result = instrumentWasm(bytes, options)
  assert(result._tag === "InstrumentError", "expected an InstrumentError")
  return result
}

type Fn = (...args: number[]) => unknown

function instantiate(bytes: Uint8Array<ArrayBuffer>, imports: WebAssembly.Imports = {}) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports)
  const fuel = instance.exports[FUEL_EXPORT]
  return {
    fn: (name: string) => instance.exports[name] as Fn,
    exports: instance.exports,
    fuel: fuel instanceof WebAssembly.Global ? fuel : undefined,
  }
}

const COUNTER = wat(`(module
  (memory (export "memory") 1 100)
  (func (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "spin") (loop $l (br $l))))`)

Deno.test("instrumentWasm charges the function entry once and the loop body every iteration", () => {
  const { fn, fuel } = instantiate(instrument(COUNTER).bytes)
  assert(fuel !== undefined)
  fuel.value = 1_000_000n
  assertEquals(fn("sum")(100), 5050)
  // entry region: block, loop, end, local.get, end = 5; loop body: 12 instructions + end = 13,
  // run n + 1 times (the last pass exits through br_if).
  assertEquals(1_000_000n - (fuel.value as bigint), 5n + 13n * 101n)
})

Deno.test("instrumentWasm prices a call to an imported function at hostCallCost", () => {
  const bytes = wat(`(module
    (import "env" "host" (func $host))
    (func $local)
    (func (export "run") (call $host) (call $local) (return_call $host)))`)
  const imports = { env: { host: () => {} } }
  const fuelUsed = (hostCallCost?: number) => {
    const options = hostCallCost === undefined ? OPTIONS : { ...OPTIONS, hostCallCost }
    const { fn, fuel } = instantiate(instrument(bytes, options).bytes, imports)
    fn("run")()
    return OPTIONS.initialFuel - (fuel!.value as bigint)
  }
  // run: call, call, return_call, end = 4 (+ 1 for $local's own entry charge).
  assertEquals(fuelUsed(), 5n)
  assertEquals(fuelUsed(50), 5n + 2n * 49n)
  assertEquals(errorOf(bytes, { ...OPTIONS, hostCallCost: 0 }).reason, "invalid_options")
})

Deno.test("instrumentWasm makes an infinite loop trap once the fuel is below zero", () => {
  const { fn, fuel } = instantiate(instrument(COUNTER).bytes)
  assert(fuel !== undefined)
  fuel.value = 10_000n
  let trapped: unknown
  try {
    fn("spin")()
  } catch (e) {
    trapped = e
  }
  assert(trapped instanceof WebAssembly.RuntimeError)
  assert((fuel.value as bigint) < 0n)
  assert((fuel.value as bigint) >= -2n, "stops within one charge of zero")
})

Deno.test("instrumentWasm initialises the fuel global to initialFuel", () => {
  const { fuel } = instantiate(instrument(COUNTER, { maxMemoryPages: 4, initialFuel: 1234n }).bytes)
  assertEquals(fuel?.value, 1234n)
})

Deno.test("instrumentWasm appends the fuel global after imported and defined globals", () => {
  const bytes = wat(`(module
    (import "env" "g" (global $g i32))
    (global $a (mut i32) (i32.const 7))
    (global $b i64 (i64.const 9))
    (func (export "read") (result i32) (i32.add (global.get $g) (global.get $a)))
    (func (export "bump") (global.set $a (i32.add (global.get $a) (i32.const 1)))))`)
  const env = { env: { g: new WebAssembly.Global({ value: "i32", mutable: false }, 100) } }
  const { fn, fuel } = instantiate(instrument(bytes).bytes, env)
  fn("bump")()
  assertEquals(fn("read")(), 108)
  assert(fuel !== undefined && (fuel.value as bigint) < OPTIONS.initialFuel)
})

Deno.test("instrumentWasm adds type, table, global and export sections in order when the module has none", () => {
  const bytes = wat(`(module (func $f (result i32) (i32.const 1)) (start $g) (func $g))`)
  const result = instrument(bytes)
  assert(WebAssembly.validate(result.bytes))
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(result.bytes))
  assertEquals(exports.map((e) => e.name), [FUEL_EXPORT, REFUEL_EXPORT, START_EXPORT])
  assertEquals(exports.map((e) => e.kind), ["global", "table", "function"])
})

/** A `() -> ()` wasm function that calls `fn`, for the refuel table slot. */
function refueler(fn: () => void): () => void {
  const trampoline = new WebAssembly.Instance(
    new WebAssembly.Module(wat(`(module (import "h" "r" (func $r)) (func (export "r") call $r))`)),
    { h: { r: fn } },
  )
  return trampoline.exports["r"] as () => void
}

Deno.test("instrumentWasm calls the refuel slot when the fuel goes below zero, and continues", () => {
  const { fn, fuel, exports } = instantiate(instrument(COUNTER).bytes)
  let refuels = 0
  ;(exports[REFUEL_EXPORT] as WebAssembly.Table).set(
    0,
    refueler(() => {
      refuels++
      fuel!.value = 100n
    }),
  )
  fuel!.value = 100n
  // 5 + 13 * 1001 fuel in slices of 100 (a charge of 13 may overdraw a slice by up to 12):
  // the loop keeps going after every refill.
  assertEquals(fn("sum")(1000), 500500)
  assert(refuels >= Math.floor((5 + 13 * 1001) / 112), `refuelled ${refuels} times`)
})

Deno.test("instrumentWasm traps at a refuel slot that is empty (never run without a host)", () => {
  const { fn, fuel } = instantiate(instrument(COUNTER).bytes)
  fuel!.value = 10n
  assertThrows(() => fn("spin")(), WebAssembly.RuntimeError)
})

Deno.test("instrumentWasm appends the refuel type and table without shifting existing indices", () => {
  // Two types, two tables (one imported) and a call_indirect through table 1 with type 1: every
  // index the module uses must still mean the same thing after the rewrite.
  const bytes = wat(`(module
    (type $t0 (func (param i32) (result i32)))
    (type $t1 (func (result i32)))
    (import "env" "tbl" (table $imported 1 funcref))
    (table $own 2 funcref)
    (elem (table $own) (i32.const 0) func $seven $eight)
    (func $seven (result i32) (i32.const 7))
    (func $eight (result i32) (i32.const 8))
    (func (export "pick") (type $t0) (call_indirect $own (type $t1) (local.get 0)))
    (func (export "spin") (loop $l (br $l))))`)
  const result = instrument(bytes)
  const imported = new WebAssembly.Table({ element: "anyfunc", initial: 1 })
  const { fn, fuel, exports } = instantiate(result.bytes, { env: { tbl: imported } })
  assertEquals(fn("pick")(0), 7)
  assertEquals(fn("pick")(1), 8)
  const table = exports[REFUEL_EXPORT] as WebAssembly.Table
  assertEquals(table.length, 1)
  let called = false
  table.set(
    0,
    refueler(() => {
      called = true
      throw new Error("out of fuel")
    }),
  )
  fuel!.value = 5n
  assertThrows(() => fn("spin")(), /out of fuel/)
  assert(called)
})

Deno.test("instrumentWasm refuses a module that already exports the refuel table name", () => {
  const error = errorOf(wat(`(module (table (export "${REFUEL_EXPORT}") 1 funcref))`))
  assertEquals(error.reason, "reserved_export_taken")
})

Deno.test("instrumentWasm moves the start function to an export the host calls", () => {
  const bytes = wat(`(module
    (global $ready (mut i32) (i32.const 0))
    (func $init (global.set $ready (i32.const 42)))
    (start $init)
    (func (export "ready") (result i32) (global.get $ready)))`)
  const result = instrument(bytes)
  assertEquals(result.start, START_EXPORT)
  const { fn } = instantiate(result.bytes)
  assertEquals(fn("ready")(), 0)
  fn(START_EXPORT)()
  assertEquals(fn("ready")(), 42)
})

Deno.test("instrumentWasm reports imports and exports with function types", () => {
  const bytes = wat(`(module
    (import "extism:host/env" "alloc" (func (param i64) (result i64)))
    (import "extism:host/user" "hello" (func (param i64) (result i64)))
    (memory (export "memory") 1)
    (global (export "g") i32 (i32.const 0))
    (func (export "run") (result i32) (i32.const 0))
    (func (export "pair") (param f32 v128) (result i64 f64) (i64.const 1) (f64.const 2)))`)
  const result = instrument(bytes)
  assertEquals(result.imports, [
    {
      module: "extism:host/env",
      name: "alloc",
      kind: "function",
      type: { params: ["i64"], results: ["i64"] },
    },
    {
      module: "extism:host/user",
      name: "hello",
      kind: "function",
      type: { params: ["i64"], results: ["i64"] },
    },
  ])
  assertEquals(result.exports, [
    { name: "memory", kind: "memory" },
    { name: "g", kind: "global" },
    { name: "run", kind: "function", type: { params: [], results: ["i32"] } },
    { name: "pair", kind: "function", type: { params: ["f32", "v128"], results: ["i64", "f64"] } },
  ])
  assertEquals(result.memories, [{ initialPages: 1, maximumPages: 16 }])
  assertEquals(result.metered, true)
  const inspected = inspectWasm(bytes)
  assert(inspected._tag === "Inspected")
  assertEquals(inspected.exports, result.exports)
  assertEquals(inspected.memories, [{ initialPages: 1, maximumPages: undefined }])
  assertEquals(inspected.metered, false)
})

Deno.test("instrumentWasm caps the memory maximum and memory.grow past it returns -1", () => {
  const bytes = wat(`(module
    (memory (export "memory") 1 1000)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`)
  const result = instrument(bytes, { maxMemoryPages: 4, initialFuel: 1_000_000n })
  assertEquals(result.memories, [{ initialPages: 1, maximumPages: 4 }])
  const { fn } = instantiate(result.bytes)
  assertEquals(fn("grow")(5), -1)
  assertEquals(fn("grow")(3), 1)
  assertEquals(fn("grow")(1), -1)
})

Deno.test("instrumentWasm keeps a declared maximum below the cap and caps an absent one", () => {
  const low = instrument(wat(`(module (memory 1 2))`))
  assertEquals(low.memories, [{ initialPages: 1, maximumPages: 2 }])
  const none = instrument(wat(`(module (memory 3))`))
  assertEquals(none.memories, [{ initialPages: 3, maximumPages: 16 }])
  const shared = instrument(wat(`(module (memory 1 100 shared))`))
  assertEquals(shared.memories, [{ initialPages: 1, maximumPages: 16 }])
  assert(WebAssembly.validate(shared.bytes))
})

Deno.test("instrumentWasm refuses initial memory above the cap, naming both numbers", () => {
  const error = errorOf(wat(`(module (memory 20))`))
  assertEquals(error.reason, "memory_too_large")
  assert(error.message.includes("20") && error.message.includes("16"), error.message)
})

Deno.test("instrumentWasm refuses an imported memory", () => {
  const error = errorOf(wat(`(module (import "env" "memory" (memory 1)))`))
  assertEquals(error.reason, "imported_memory")
  assert(error.message.includes("env::memory"), error.message)
})

Deno.test("instrumentWasm refuses memory64", () => {
  const error = errorOf(wat(`(module (memory i64 1))`))
  assertEquals(error.reason, "unsupported_feature")
  assert(error.message.includes("memory64"), error.message)
})

Deno.test("instrumentWasm refuses exception handling with a clear message", () => {
  const noTag = errorOf(wat(`(module (func (try (do nop) (catch_all))))`))
  assertEquals(noTag.reason, "unsupported_feature")
  assertEquals(
    noTag.message,
    "unsupported wasm feature: opcode 0x06 (exception handling) at function 0",
  )
  const withTag = errorOf(wat(`(module (tag $e) (func (throw $e)))`))
  assertEquals(withTag.message, "unsupported wasm feature: exception handling (tag section)")
})

Deno.test("instrumentWasm refuses relaxed SIMD as non-deterministic", () => {
  const error = errorOf(wat(`(module (func (export "f") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))`))
  assertEquals(error.reason, "unsupported_feature")
  assert(
    error.message.includes("0xfd 0x100") && error.message.includes("at function 0"),
    error.message,
  )
})

Deno.test("instrumentWasm names the problem in a module that does not validate", () => {
  const garbage = errorOf(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))
  assertEquals(garbage.reason, "invalid_wasm")
  assert(garbage.message.startsWith("invalid wasm module:"), garbage.message)
  // Valid header, type section claiming 5 entries but holding none.
  const truncated = errorOf(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 1, 5))
  assertEquals(truncated.reason, "invalid_wasm")
})

Deno.test("instrumentWasm refuses a module it has already instrumented", () => {
  const once = instrument(COUNTER)
  const error = errorOf(once.bytes)
  assertEquals(error.reason, "reserved_export_taken")
  assert(error.message.includes(FUEL_EXPORT), error.message)
})

Deno.test("instrumentWasm checks its options", () => {
  assertEquals(
    errorOf(COUNTER, { maxMemoryPages: 70000, initialFuel: 1n }).reason,
    "invalid_options",
  )
  assertEquals(errorOf(COUNTER, { maxMemoryPages: 1, initialFuel: -1n }).reason, "invalid_options")
})

Deno.test("instrumentWasm is deterministic across unrelated modules", () => {
  const other = wat(`(module (func (export "one") (result i32) (i32.const 1)))`)
  const a1 = instrument(COUNTER)
  const b = instrument(other)
  const a2 = instrument(COUNTER)
  assertEquals(a1.bytes, a2.bytes)
  assertEquals(instantiate(b.bytes).fn("one")(), 1)
  assertEquals(instantiate(a2.bytes).fn("sum")(10), 55)
})

Deno.test("instrumentWasm keeps custom sections such as the name section", () => {
  const module = wat(`(module (func $named (export "f")))`, { names: true })
  const names = (bytes: Uint8Array<ArrayBuffer>) =>
    WebAssembly.Module.customSections(new WebAssembly.Module(bytes), "name")
      .map((section) => new Uint8Array(section))
  assertEquals(names(module).length, 1)
  assertEquals(names(instrument(module).bytes), names(module))
})

/** Runs every export of `bytes` (no arguments) before and after instrumentation. */
function assertSameResults(bytes: Uint8Array<ArrayBuffer>, names: string[]) {
  const plain = instantiate(bytes)
  const metered = instantiate(instrument(bytes).bytes)
  for (const name of names) {
    assertEquals(metered.fn(name)(), plain.fn(name)(), name)
  }
  assert(metered.fuel !== undefined && (metered.fuel.value as bigint) < OPTIONS.initialFuel)
}

Deno.test("instrumented SIMD code computes the same results", () => {
  const bytes = wat(`(module
    (memory 1)
    (data (i32.const 0) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")
    (func (export "lanes") (result i32)
      (local $v v128)
      (local.set $v (i32x4.add (v128.load (i32.const 0)) (v128.const i32x4 10 20 30 40)))
      (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get $v) (local.get $v)))
      (local.set $v (v128.load8_lane 3 (i32.const 5) (local.get $v)))
      (v128.store32_lane offset=32 align=4 1 (i32.const 0) (local.get $v))
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $v)) (i8x16.extract_lane_u 3 (local.get $v)))
        (i32.load offset=32 (i32.const 0))))
    (func (export "loop") (result i64)
      (local $i i32) (local $acc v128)
      (loop $l
        (local.set $acc (i64x2.add (local.get $acc) (i64x2.splat (i64.extend_i32_u (local.get $i)))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 50))))
      (i64.add (i64x2.extract_lane 0 (local.get $acc)) (i64x2.extract_lane 1 (local.get $acc))))
    (func (export "floats") (result f64)
      (f64x2.extract_lane 1 (f64x2.mul (v128.const f64x2 1.5 2.5) (f64x2.splat (f64.const 4))))))`)
  assertSameResults(bytes, ["lanes", "loop", "floats"])
})

Deno.test("instrumented bulk-memory, sign-extension and saturating code computes the same results", () => {
  const bytes = wat(`(module
    (memory 1)
    (data $d "hello, world")
    (func (export "bulk") (result i32)
      (memory.init $d (i32.const 100) (i32.const 0) (i32.const 12))
      (data.drop $d)
      (memory.copy (i32.const 200) (i32.const 100) (i32.const 12))
      (memory.fill (i32.const 204) (i32.const 33) (i32.const 3))
      (i32.add (i32.load8_u (i32.const 205)) (i32.load (i32.const 200))))
    (func (export "ext") (result i32)
      (i32.add (i32.extend8_s (i32.const 0xff)) (i32.trunc_sat_f64_s (f64.const 1e20)))))`)
  assertSameResults(bytes, ["bulk", "ext"])
})

Deno.test("instrumented multi-value blocks with type-index block types compute the same results", () => {
  const bytes = wat(`(module
    (type $pair (func (param i32) (result i32 i32)))
    (func $split (param i32) (result i32 i32) (local.get 0) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "mv") (result i32)
      (call $split (i32.const 21))
      (block (type $pair) (param i32) (result i32 i32)
        (i32.const 1) (i32.add) (i32.const 100))
      (i32.add) (i32.add))
    (func (export "mvloop") (result i32) (local $n i32)
      (i32.const 0)
      (loop $l (type $pair) (param i32) (result i32 i32)
        (i32.add (i32.const 3))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $n) (i32.const 10)))
        (local.get $n))
      (i32.add)))`)
  assertSameResults(bytes, ["mv", "mvloop"])
})

Deno.test("instrumented reference-type, table and tail-call code computes the same results", () => {
  const bytes = wat(`(module
    (type $t (func (result i32)))
    (table $tab 2 funcref)
    (elem declare func $seven)
    (func $seven (result i32) (i32.const 7))
    (func $fact (param $n i64) (param $acc i64) (result i64)
      (if (result i64) (i64.eqz (local.get $n))
        (then (local.get $acc))
        (else (return_call $fact (i64.sub (local.get $n) (i64.const 1)) (i64.mul (local.get $n) (local.get $acc))))))
    (func (export "refs") (result i32)
      (table.set $tab (i32.const 1) (ref.func $seven))
      (drop (table.grow $tab (ref.null func) (i32.const 3)))
      (table.fill $tab (i32.const 2) (ref.func $seven) (i32.const 2))
      (i32.add
        (i32.add (call_indirect $tab (type $t) (i32.const 3)) (table.size $tab))
        (select (result i32) (i32.const 1) (i32.const 2) (ref.is_null (table.get $tab (i32.const 0))))))
    (func (export "tail") (result i64) (return_call $fact (i64.const 20) (i64.const 1))))`)
  assertSameResults(bytes, ["refs", "tail"])
})

Deno.test("instrumented atomics on a shared memory compute the same results", () => {
  const bytes = wat(`(module
    (memory 1 1 shared)
    (func (export "atomics") (result i32)
      (i32.atomic.store (i32.const 8) (i32.const 5))
      (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 10)))
      (atomic.fence)
      (i32.add (i32.atomic.load (i32.const 8)) (memory.atomic.notify (i32.const 8) (i32.const 1)))))`)
  assertSameResults(bytes, ["atomics"])
})

Deno.test("instrumentWasm refuses memory.atomic.wait, which would block the host thread", () => {
  const error = errorOf(wat(`(module (memory 1 1 shared)
    (func (export "w") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))`))
  assertEquals(error.reason, "unsupported_feature")
  assertEquals(
    error.message,
    "unsupported wasm feature: opcode 0xfe 0x01 (memory.atomic.wait blocks the host thread) at function 0",
  )
})

Deno.test("instrumentWasm charges bulk operations their length, in a scratch local after the others", () => {
  const bytes = wat(`(module
    (memory 1)
    (func (export "fill") (param $len i32) (param $byte i32) (result i32) (local $keep i64)
      (local.set $keep (i64.const 99))
      (memory.fill (i32.const 16) (local.get $byte) (local.get $len))
      (i32.add (i32.load8_u (i32.const 16)) (i32.wrap_i64 (local.get $keep)))))`)
  const plain = instantiate(bytes)
  const metered = instantiate(instrument(bytes).bytes)
  assertEquals(metered.fn("fill")(1000, 7), plain.fn("fill")(1000, 7))
  assertEquals(metered.fn("fill")(1000, 7), 106)
  const used = (len: number) => {
    metered.fuel!.value = 1_000_000n
    metered.fn("fill")(len, 1)
    return 1_000_000n - (metered.fuel!.value as bigint)
  }
  assertEquals(used(5000) - used(1000), 4000n)
})

Deno.test("instrumentWasm stops a loop of large memory.fill calls on a small budget", () => {
  const bytes = wat(`(module (memory 16)
    (func (export "wipe") (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 1048576)) (br $l))))`)
  const { fn, fuel } = instantiate(instrument(bytes).bytes)
  fuel!.value = 10_000_000n
  let trapped = false
  try {
    fn("wipe")()
  } catch (e) {
    trapped = e instanceof WebAssembly.RuntimeError
  }
  assert(trapped && (fuel!.value as bigint) < 0n)
})

Deno.test("instrumentWasm refuses table64", () => {
  const error = errorOf(wat(`(module (table i64 1 funcref))`))
  assertEquals(error.reason, "unsupported_feature")
  assert(error.message.includes("table64"), error.message)
})

Deno.test("instrumented tail recursion without loops still runs out of fuel", () => {
  const bytes = wat(`(module (func $f (export "f") (return_call $f)))`)
  const { fn, fuel } = instantiate(instrument(bytes).bytes)
  assert(fuel !== undefined)
  fuel.value = 50_000n
  let trapped = false
  try {
    fn("f")()
  } catch (e) {
    trapped = e instanceof WebAssembly.RuntimeError
  }
  assert(trapped)
  assert((fuel.value as bigint) < 0n)
})
