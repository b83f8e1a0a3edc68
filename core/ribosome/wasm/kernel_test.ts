import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict"
import {
  FAST_PATH_WASM,
  FAST_PATH_WAT,
  Kernel,
  KERNEL_BASE,
  KERNEL_SIGNATURES,
  type KernelOptions,
  KernelTrap,
  type LogLevel,
} from "./kernel.ts"
import { wat } from "./testdata/wat.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The kernel's import object, callable from JS the way a guest calls it. */
interface Env {
  alloc(n: bigint): bigint
  free(p: bigint): void
  length(p: bigint): bigint
  "length_unsafe"(p: bigint): bigint
  "load_u8"(p: bigint): number
  "load_u64"(p: bigint): bigint
  "store_u8"(p: bigint, v: number): void
  "store_u64"(p: bigint, v: bigint): void
  "input_set"(p: bigint, n: bigint): void
  "input_offset"(): bigint
  "input_length"(): bigint
  "input_load_u8"(i: bigint): number
  "input_load_u64"(i: bigint): bigint
  "output_set"(p: bigint, n: bigint): void
  "output_offset"(): bigint
  "output_length"(): bigint
  "error_set"(p: bigint): void
  "error_get"(): bigint
  "memory_bytes"(): bigint
  "config_get"(p: bigint): bigint
  "var_get"(p: bigint): bigint
  "var_set"(k: bigint, v: bigint): void
  "http_request"(r: bigint, b: bigint): bigint
  "http_status_code"(): number
  "http_headers"(): bigint
  "log_info"(p: bigint): void
  "log_debug"(p: bigint): void
  "log_error"(p: bigint): void
  "get_log_level"(): number
}

function setup(options: Partial<KernelOptions> = {}) {
  const kernel = new Kernel({ maxKernelBytes: 1 << 20, ...options })
  const env = kernel.env as unknown as Env
  const text = (s: string) => kernel.write(enc.encode(s))
  const readText = (p: bigint) => {
    const bytes = kernel.read(p)
    return bytes === undefined ? undefined : dec.decode(bytes)
  }
  return { kernel, env, text, readText }
}

function trapKind(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof KernelTrap) return e.kind
    throw e
  }
  throw new Error("expected a KernelTrap")
}

Deno.test("Kernel.env provides exactly the functions of KERNEL_SIGNATURES", () => {
  const { kernel } = setup()
  assertEquals(Object.keys(kernel.env).sort(), Object.keys(KERNEL_SIGNATURES).sort())
})

Deno.test("Kernel alloc returns non-zero addresses above KERNEL_BASE and length knows them", () => {
  const { kernel, env } = setup()
  kernel.enter(new Uint8Array(0))
  const a = env.alloc(10n)
  const b = env.alloc(3n)
  assert(a >= BigInt(KERNEL_BASE) && b > a)
  assertEquals(env.length(a), 10n)
  assertEquals(env.length_unsafe(b), 3n)
  assertEquals(env.alloc(0n), 0n)
  assertEquals(env.length(0n), 0n)
  assertEquals(env.length(a + 1n), 0n, "an address inside a block is not a block")
  assertEquals(env.length(12345n), 0n)
  kernel.leave()
})

Deno.test("Kernel free makes room that the next alloc reuses, coalescing neighbours", () => {
  const { kernel, env } = setup()
  kernel.enter(new Uint8Array(0))
  const a = env.alloc(16n)
  const b = env.alloc(16n)
  const c = env.alloc(16n)
  env.free(a)
  env.free(b)
  assertEquals(env.length(a), 0n)
  assertEquals(env.alloc(32n), a, "a and b merged into one 32-byte range")
  env.free(c)
  assertEquals(kernel.stats().arenaBytes, 32, "freeing the last block lowers the bump pointer")
  env.free(0n)
  env.free(999n)
  kernel.leave()
})

Deno.test("Kernel load and store work anywhere in the arena and trap outside it", () => {
  const { kernel, env } = setup()
  kernel.enter(new Uint8Array(0))
  const p = env.alloc(16n)
  env.store_u8(p, 0xab)
  env.store_u64(p + 8n, -2n)
  assertEquals(env.load_u8(p), 0xab)
  assertEquals(env.load_u64(p + 8n), -2n)
  assertEquals(env.load_u64(p), 0xabn)
  assertEquals(trapKind(() => env.load_u8(0n)), "kernel_misuse")
  assertEquals(trapKind(() => env.load_u64(p + 9n)), "kernel_misuse")
  assertEquals(trapKind(() => env.store_u8(p + 16n, 1)), "kernel_misuse")
  assertEquals(trapKind(() => env.store_u64(-1n, 1n)), "kernel_misuse")
  kernel.leave()
})

Deno.test("Kernel exposes the frame input as a block and traps on reads past its end", () => {
  const { kernel, env } = setup()
  kernel.enter(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9))
  assertEquals(env.input_length(), 9n)
  assertEquals(env.length(env.input_offset()), 9n)
  assertEquals(env.input_load_u8(8n), 9)
  assertEquals(env.input_load_u64(0n), 0x0807060504030201n)
  assertEquals(trapKind(() => env.input_load_u8(9n)), "kernel_misuse")
  assertEquals(trapKind(() => env.input_load_u64(2n)), "kernel_misuse")
  env.free(env.input_offset())
  assertEquals(env.input_length(), 0n, "freeing the input empties it, as in Extism")
  kernel.leave()

  kernel.enter(new Uint8Array(0))
  assertEquals(env.input_offset(), 0n)
  assertEquals(env.input_length(), 0n)
  kernel.leave()
})

Deno.test("Kernel input_set points the frame input at any arena range", () => {
  const { kernel, env, text } = setup()
  kernel.enter(new Uint8Array(0))
  const p = text("abcdef")
  env.input_set(p + 2n, 3n)
  assertEquals(env.input_load_u8(0n), "c".charCodeAt(0))
  assertEquals(env.input_length(), 3n)
  assertEquals(trapKind(() => env.input_set(p, 1000n)), "kernel_misuse")
  kernel.leave()
})

Deno.test("Kernel.leave returns a copy of the output and the error text", () => {
  const { kernel, env, text } = setup()
  kernel.enter(new Uint8Array(0))
  const out = text("result")
  env.output_set(out, 6n)
  assertEquals(env.output_offset(), out)
  assertEquals(env.output_length(), 6n)
  env.error_set(text("it failed"))
  assert(env.error_get() !== 0n)
  const frame = kernel.leave()
  assertEquals(dec.decode(frame.output), "result")
  assertEquals(frame.error, "it failed")

  kernel.enter(new Uint8Array(0))
  env.output_set(0n, 0n)
  env.error_set(text("x"))
  env.error_set(0n)
  assertEquals(kernel.leave(), { output: new Uint8Array(0), error: undefined })
})

Deno.test("Kernel error_set traps on an offset that is not a block; output_set on a bad range", () => {
  const { kernel, env, text } = setup()
  kernel.enter(new Uint8Array(0))
  const p = text("hello")
  assertEquals(trapKind(() => env.error_set(p + 1n)), "kernel_misuse")
  assertEquals(trapKind(() => env.output_set(p, 100n)), "kernel_misuse")
  kernel.leave()
})

Deno.test("Kernel traps with kernel_limit when a call allocates past maxKernelBytes", () => {
  const { kernel, env } = setup({ maxKernelBytes: 4096 })
  kernel.enter(new Uint8Array(100))
  env.alloc(2048n)
  assertEquals(trapKind(() => env.alloc(2048n)), "kernel_limit")
  assertEquals(trapKind(() => env.alloc(1n << 40n)), "kernel_limit")
  assertThrows(() => kernel.write(new Uint8Array(4000)), KernelTrap)
  kernel.leave()
  kernel.enter(new Uint8Array(0))
  assert(env.alloc(4096n) !== 0n, "the budget is per top-level call")
  kernel.leave()
  assertThrows(() => kernel.enter(new Uint8Array(5000)), KernelTrap)
  assertEquals(kernel.depth, 0)
})

Deno.test("Kernel releases and zeroes every block when the outermost call ends", () => {
  const { kernel, env } = setup()
  kernel.enter(new Uint8Array(0))
  const p = env.alloc(8n)
  env.store_u64(p, 0x1122334455667788n)
  kernel.leave()
  assertEquals(kernel.stats().blocks, 0)
  kernel.enter(new Uint8Array(0))
  const q = env.alloc(8n)
  assertEquals(q, p)
  assertEquals(env.load_u64(q), 0n)
  kernel.leave()
})

Deno.test("Kernel frames nest: an inner call sees its own input and output", () => {
  const { kernel, env, text } = setup()
  kernel.enter(enc.encode("outer"))
  const kept = text("kept")
  kernel.enter(enc.encode("inner!"))
  assertEquals(env.input_length(), 6n)
  env.output_set(text("inner out"), 9n)
  assertEquals(dec.decode(kernel.leave().output), "inner out")
  assertEquals(env.input_length(), 5n)
  assertEquals(env.input_load_u8(0n), "o".charCodeAt(0))
  assertEquals(env.length(kept), 4n, "outer blocks survive an inner call")
  assertEquals(kernel.leave().output.length, 0)
  assertEquals(kernel.depth, 0)
})

Deno.test("Kernel.leave of an inner frame frees its input unless the guest freed it first", () => {
  const { kernel, env, text } = setup()
  kernel.enter(new Uint8Array(0))
  kernel.enter(enc.encode("12345678"))
  const input = env.input_offset()
  kernel.leave()
  assertEquals(env.length(input), 0n, "the inner input is released")
  kernel.enter(enc.encode("12345678"))
  env.free(env.input_offset())
  const reused = text("guest's")
  assertEquals(reused, input, "the freed input's space is reused")
  kernel.leave()
  assertEquals(env.length(reused), 7n, "a block that reuses the input's offset survives")
  kernel.leave()
})

Deno.test("Kernel vars persist across calls, are removed by a 0 value and are capped", () => {
  const { kernel, env, text, readText } = setup({ maxVarBytes: 10 })
  kernel.enter(new Uint8Array(0))
  env.var_set(text("k"), text("value"))
  kernel.leave()
  kernel.enter(new Uint8Array(0))
  assertEquals(readText(env.var_get(text("k"))), "value")
  assertEquals(env.var_get(text("missing")), 0n)
  assertEquals(kernel.stats().varBytes, 6)
  assertEquals(trapKind(() => env.var_set(text("other"), text("too long"))), "var_limit")
  env.var_set(text("k"), text("123456789"))
  env.var_set(text("k"), 0n)
  assertEquals(env.var_get(text("k")), 0n)
  assertEquals(kernel.stats().varBytes, 0)
  assertEquals(trapKind(() => env.var_get(0n)), "kernel_misuse")
  kernel.leave()

  const disabled = setup({ maxVarBytes: 0 })
  disabled.kernel.enter(new Uint8Array(0))
  assertEquals(
    trapKind(() => disabled.env.var_set(disabled.text("k"), disabled.text("v"))),
    "var_limit",
  )
  disabled.kernel.leave()
})

Deno.test("Kernel clearVars removes every var", () => {
  const { kernel, env, text } = setup()
  kernel.enter(new Uint8Array(0))
  env.var_set(text("k"), text("v"))
  kernel.clearVars()
  assertEquals(env.var_get(text("k")), 0n)
  kernel.leave()
})

Deno.test("Kernel config_get returns a new block with the value, 0 when absent", () => {
  const { kernel, env, text, readText } = setup({ config: { name: "Ada", empty: "" } })
  kernel.enter(new Uint8Array(0))
  assertEquals(readText(env.config_get(text("name"))), "Ada")
  assertEquals(env.config_get(text("nope")), 0n)
  assertEquals(env.config_get(text("constructor")), 0n, "no prototype keys")
  assertEquals(env.config_get(text("empty")), 0n, "an empty value is the empty block, 0")
  assertEquals(trapKind(() => env.config_get(0n)), "kernel_misuse")
  kernel.leave()
})

Deno.test("Kernel logs at or above the level and drops the rest", () => {
  const lines: Array<[LogLevel, string]> = []
  const { kernel, env, text } = setup({ logLevel: "info", logger: (l, m) => lines.push([l, m]) })
  kernel.enter(new Uint8Array(0))
  env.log_debug(text("hidden"))
  env.log_info(text("shown"))
  env.log_error(text("bad"))
  env.log_debug(0n)
  assertEquals(trapKind(() => env.log_info(0n)), "kernel_misuse")
  assertEquals(env.get_log_level(), 2)
  kernel.leave()
  assertEquals(lines, [["info", "shown"], ["error", "bad"]])
})

Deno.test("Kernel refuses http_request with 0 and logs the URL", () => {
  const lines: string[] = []
  const { kernel, env, text } = setup({ logger: (_l, m) => lines.push(m) })
  kernel.enter(new Uint8Array(0))
  const req = text(JSON.stringify({ url: "https://example.com/x", method: "GET" }))
  assertEquals(env.http_request(req, 0n), 0n)
  assertEquals(env.http_status_code(), 0)
  assertEquals(env.http_headers(), 0n)
  kernel.leave()
  assertEquals(lines, ["http_request is not allowed (request to https://example.com/x)"])
})

Deno.test("Kernel.read and Kernel.write give host functions copies", () => {
  const { kernel, env } = setup()
  kernel.enter(new Uint8Array(0))
  const p = kernel.write(Uint8Array.of(1, 2, 3))
  const copy = kernel.read(p)
  assertEquals(copy, Uint8Array.of(1, 2, 3))
  copy![0] = 9
  assertEquals(env.load_u8(p), 1)
  assertEquals(kernel.read(0n), undefined)
  assertEquals(kernel.read(p + 1n), undefined)
  assertEquals(kernel.write(new Uint8Array(0)), 0n)
  kernel.leave()
})

Deno.test("Kernel grows its arena for large blocks within the budget", () => {
  const { kernel, env } = setup({ maxKernelBytes: 3 << 20 })
  const big = new Uint8Array(2 << 20).fill(7)
  kernel.enter(big)
  assertEquals(env.input_load_u8(BigInt(big.length - 1)), 7)
  const p = env.alloc(BigInt(1 << 20) - 100n)
  env.store_u8(p + 1000n, 5)
  assertEquals(env.memory_bytes() >= BigInt(3 << 20) - 200n, true)
  kernel.leave()
  assert(kernel.stats().arenaCapacity <= 1 << 20, "a large arena is not kept after the call")
})

Deno.test("the kernel's wasm fast path is FAST_PATH_WAT assembled", () => {
  const shipped = Uint8Array.from(atob(FAST_PATH_WASM), (c) => c.charCodeAt(0))
  assertEquals(shipped, wat(FAST_PATH_WAT))
})

Deno.test("Kernel moves an arena past 1 MiB out of its wasm memory for one call, then back", () => {
  const { kernel, env } = setup({ maxKernelBytes: 4 << 20 })
  const input = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)
  kernel.enter(input)
  const small = env.alloc(16n)
  env.store_u64(small, 0x0102030405060708n)
  env.store_u8(small + 8n, 0xee)
  const size = 2 << 20
  const big = env.alloc(BigInt(size))
  env.store_u64(big + BigInt(size - 8), -3n)
  assertEquals(env.load_u64(small), 0x0102030405060708n, "blocks written before the move")
  assertEquals(env.load_u8(small + 8n), 0xee)
  assertEquals(env.load_u64(big + BigInt(size - 8)), -3n)
  assertEquals(env.input_load_u64(1n), 0x0908070605040302n)
  assertEquals(env.input_length(), 9n)
  assertEquals(trapKind(() => env.load_u8(big + BigInt(size))), "kernel_misuse")
  kernel.leave()
  assert(kernel.stats().arenaCapacity <= 1 << 20, "the large arena is not kept")
  kernel.enter(new Uint8Array(input.length))
  const again = env.alloc(16n)
  assertEquals(again, small)
  assertEquals([env.load_u64(again), env.load_u8(again + 8n)], [0n, 0], "no bytes of the last call")
  kernel.leave()
})

Deno.test("Kernel fast-path traps name the function, the width and the offset", () => {
  const { kernel, env } = setup()
  kernel.enter(Uint8Array.of(1, 2, 3))
  const p = env.alloc(8n)
  const message = (fn: () => unknown) => {
    try {
      fn()
    } catch (e) {
      if (e instanceof KernelTrap) return `${e.kind}: ${e.message}`
      throw e
    }
    throw new Error("expected a KernelTrap")
  }
  const outside = "are outside kernel memory"
  assertEquals(
    message(() => env.load_u64(p + 1n)),
    `kernel_misuse: extism kernel: load_u64: 8 byte(s) at ${p + 1n} ${outside}`,
  )
  assertEquals(
    message(() => env.store_u8(-5n, 1)),
    `kernel_misuse: extism kernel: store_u8: 1 byte(s) at -5 ${outside}`,
  )
  assertEquals(
    message(() => env.input_load_u64(0n)),
    `kernel_misuse: extism kernel: input_load_u64: 8 byte(s) at 0 ${outside}`,
  )
  assertEquals(env.input_load_u8(2n), 3)
  kernel.leave()
})
