/**
 * The Extism kernel (`extism:host/env`) in TypeScript: the memory, input/output, error, config,
 * var and log functions every Extism PDK (as-pdk, rust-pdk, go-pdk, js-pdk, …) imports, with
 * the semantics of Extism's own kernel (`extism/extism` `kernel/src/lib.rs` and
 * `runtime/src/pdk.rs`), so guests built for Extism run unchanged.
 *
 * It owns one plugin instance's kernel memory:
 *
 * - **one growable arena**: block addresses are arena offsets plus {@link KERNEL_BASE}, so `0`
 *   is never a block and always means "null"; a block table maps offsets to lengths, freed
 *   space is reused first-fit, and a per-top-level-call budget (`maxKernelBytes`) bounds the
 *   arena: going past it traps the guest with a {@link KernelTrap} of kind `kernel_limit`;
 * - **call frames**: a stack of input/output/error triples, so a host function may re-enter the
 *   same instance; when the outermost call ends every block is released and the arena zeroed;
 * - **vars**: bytes that persist across calls of the instance (as Extism does), capped by
 *   `maxVarBytes`;
 * - **config**: a read-only string map.
 *
 * Misuse (an offset outside the arena, a length past the input, an error or log message that is
 * not a block) traps with a {@link KernelTrap} instead of reading garbage.
 *
 * The functions a guest calls once per 8 bytes it moves (`load_*`, `store_*`, `input_load_*`,
 * `input_length`) are a small wasm module ({@link FAST_PATH_WAT}) over a `WebAssembly.Memory`
 * that holds the arena while it is at most 1 MiB: a call from the guest is then wasm to wasm, with
 * no JS transition and no BigInt per call. A call whose arena outgrows that moves it to a JS
 * buffer, and those functions forward to their JS versions until the call ends; either way the
 * checks, results and traps are the same.
 *
 * @module
 */
import type { FuncType, ValType } from "../../wasm/mod.ts"

/** Import namespace of the kernel. */
export const EXTISM_ENV = "extism:host/env"

/** Import namespace of user host functions. */
export const EXTISM_USER = "extism:host/user"

/** Added to every arena offset to make a block address (4 GiB: never a valid wasm32 pointer). */
export const KERNEL_BASE = 0x1_0000_0000

/** Default cap on the bytes held by vars of one instance (Extism's default, 1 MiB). */
export const DEFAULT_MAX_VAR_BYTES = 1024 * 1024

/** A log level, as Extism's `log_*` functions and `get_log_level` know them. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error"

/** Receives the guest's log lines and the kernel's own warnings. */
export type KernelLogger = (level: LogLevel, message: string) => void

/** Options of {@link Kernel}. */
export interface KernelOptions {
  /** Maximum size of the arena during one top-level call: input, output and every block. */
  readonly maxKernelBytes: number
  /**
   * Maximum bytes (keys + values) held by vars; `0` disables `var_set`.
   * @default 1048576
   */
  readonly maxVarBytes?: number | undefined
  /**
   * Largest output a guest may name with `output_set`; a larger one traps with `output_limit`
   * before anything is copied. Unbounded (only the arena budget) when absent.
   */
  readonly maxOutputBytes?: number | undefined
  /** Values returned by `config_get`. */
  readonly config?: Readonly<Record<string, string>> | undefined
  /** Where `log_*` lines go; none: they are dropped. */
  readonly logger?: KernelLogger | undefined
  /**
   * Lines below this level are dropped before they are read; `get_log_level` returns it.
   * @default "info"
   */
  readonly logLevel?: LogLevel | undefined
}

/** Why the kernel trapped a guest. */
export type KernelTrapKind = "kernel_limit" | "var_limit" | "kernel_misuse" | "output_limit"

/**
 * Thrown from a kernel function to trap the guest; the call boundary turns it into a trap
 * result. `kernel_limit` is the per-call arena budget, `var_limit` the var store cap.
 */
export class KernelTrap extends Error {
  /** A trap of `kind`; the message is prefixed with `extism kernel: `. */
  constructor(readonly kind: KernelTrapKind, message: string) {
    super(`extism kernel: ${message}`)
    this.name = "KernelTrap"
  }
}

/** Output and error of a finished call frame. */
export interface KernelFrameResult {
  /** Copy of the bytes named by `output_set` (empty if none). */
  readonly output: Uint8Array
  /** The UTF-8 text of the block named by `error_set`, if any. */
  readonly error: string | undefined
}

/** A snapshot of the kernel's memory use. */
export interface KernelStats {
  /** Bytes of the arena in use (high-water mark of the current call). */
  readonly arenaBytes: number
  /** Bytes the arena has reserved. */
  readonly arenaCapacity: number
  /** Live blocks. */
  readonly blocks: number
  /** Bytes held by vars (keys + values). */
  readonly varBytes: number
  /** Open call frames. */
  readonly depth: number
}

const I32: ValType = "i32"
const I64: ValType = "i64"
const sig = (params: ValType[], results: ValType[]): FuncType => ({ params, results })

/**
 * Every function the kernel provides, with its wasm signature (`u8` values are `i32`, as the
 * PDKs declare them). An import of `extism:host/env` outside this table cannot be linked.
 */
export const KERNEL_SIGNATURES: Readonly<Record<string, FuncType>> = {
  alloc: sig([I64], [I64]),
  free: sig([I64], []),
  length: sig([I64], [I64]),
  "length_unsafe": sig([I64], [I64]),
  "load_u8": sig([I64], [I32]),
  "load_u64": sig([I64], [I64]),
  "store_u8": sig([I64, I32], []),
  "store_u64": sig([I64, I64], []),
  "input_set": sig([I64, I64], []),
  "input_offset": sig([], [I64]),
  "input_length": sig([], [I64]),
  "input_load_u8": sig([I64], [I32]),
  "input_load_u64": sig([I64], [I64]),
  "output_set": sig([I64, I64], []),
  "output_offset": sig([], [I64]),
  "output_length": sig([], [I64]),
  "error_set": sig([I64], []),
  "error_get": sig([], [I64]),
  "memory_bytes": sig([], [I64]),
  "config_get": sig([I64], [I64]),
  "var_get": sig([I64], [I64]),
  "var_set": sig([I64, I64], []),
  "http_request": sig([I64, I64], [I64]),
  "http_status_code": sig([], [I32]),
  "http_headers": sig([], [I64]),
  "log_trace": sig([I64], []),
  "log_debug": sig([I64], []),
  "log_info": sig([I64], []),
  "log_warn": sig([I64], []),
  "log_error": sig([I64], []),
  "get_log_level": sig([], [I32]),
}

const LEVEL_NUMBER: Readonly<Record<LogLevel, number>> = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
}

const ALIGN = 8
const PAGE = 64 * 1024
const INITIAL_CAPACITY = PAGE
/**
 * The most the arena's wasm memory grows to (a memory never shrinks, so this is what an instance
 * keeps between calls); a call that needs more moves its arena to a JS buffer, dropped afterwards.
 */
const RETAIN_CAPACITY = 1024 * 1024
/** First-fit looks at most this many free ranges before bumping (bounds host time per alloc). */
const MAX_FREE_SCAN = 64

interface Frame {
  /** Arena offset of the block `enter` allocated for the input, or -1. */
  ownInput: number
  /** Arena offset of the input, or -1 for no input. */
  inputOff: number
  inputLen: number
  /** Arena offset of the output, or -1 for none. */
  outputOff: number
  outputLen: number
  /** Arena offset of the error block, or -1 for none. */
  errorOff: number
  errorLen: number
}

const emptyFrame = (): Frame => ({
  ownInput: -1,
  inputOff: -1,
  inputLen: 0,
  outputOff: -1,
  outputLen: 0,
  errorOff: -1,
  errorLen: 0,
})

const utf8 = new TextEncoder()
const utf8Lossy = new TextDecoder()

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN
}

/**
 * The kernel functions a guest calls per 8 bytes, as wasm over the arena's memory (the source of
 * {@link FAST_PATH_WASM}; kernel_test.ts checks that they match). The globals mirror the arena's
 * bump pointer and the current frame's input; `slow` is set while the arena lives in a JS buffer,
 * and the functions then forward to the JS versions imported from "slow". Out-of-range accesses
 * call `out_of_bounds`, which throws the same {@link KernelTrap} as the JS versions.
 */
export const FAST_PATH_WAT = `(module
  (import "kernel" "memory" (memory 0))
  (import "kernel" "top" (global $top (mut i32)))
  (import "kernel" "input_offset" (global $inputOffset (mut i32)))
  (import "kernel" "input_length" (global $inputLength (mut i32)))
  (import "kernel" "slow" (global $slow (mut i32)))
  (import "kernel" "out_of_bounds" (func $outOfBounds (param i32 i64 i32)))
  (import "slow" "load_u8" (func $slowLoadU8 (param i64) (result i32)))
  (import "slow" "load_u64" (func $slowLoadU64 (param i64) (result i64)))
  (import "slow" "store_u8" (func $slowStoreU8 (param i64 i32)))
  (import "slow" "store_u64" (func $slowStoreU64 (param i64 i64)))
  (import "slow" "input_load_u8" (func $slowInputLoadU8 (param i64) (result i32)))
  (import "slow" "input_load_u64" (func $slowInputLoadU64 (param i64) (result i64)))
  ;; The memory offset of $width bytes at block address $address, or a trap.
  (func $arena (param $address i64) (param $width i64) (param $fn i32) (result i32)
    (local $offset i64)
    (local.set $offset (i64.sub (local.get $address) (i64.const 0x100000000)))
    (if (i32.or
          (i64.lt_s (local.get $offset) (i64.const 0))
          (i64.gt_s (local.get $offset)
            (i64.sub (i64.extend_i32_u (global.get $top)) (local.get $width))))
      (then
        (call $outOfBounds (local.get $fn) (local.get $address) (i32.wrap_i64 (local.get $width)))
        (unreachable)))
    (i32.wrap_i64 (local.get $offset)))
  ;; The memory offset of $width input bytes at $index, or a trap.
  (func $input (param $index i64) (param $width i64) (param $fn i32) (result i32)
    (if (i32.or
          (i64.lt_s (local.get $index) (i64.const 0))
          (i64.gt_s (local.get $index)
            (i64.sub (i64.extend_i32_u (global.get $inputLength)) (local.get $width))))
      (then
        (call $outOfBounds (local.get $fn) (local.get $index) (i32.wrap_i64 (local.get $width)))
        (unreachable)))
    (i32.add (global.get $inputOffset) (i32.wrap_i64 (local.get $index))))
  (func (export "load_u8") (param i64) (result i32)
    (if (global.get $slow) (then (return (call $slowLoadU8 (local.get 0)))))
    (i32.load8_u (call $arena (local.get 0) (i64.const 1) (i32.const 0))))
  (func (export "load_u64") (param i64) (result i64)
    (if (global.get $slow) (then (return (call $slowLoadU64 (local.get 0)))))
    (i64.load (call $arena (local.get 0) (i64.const 8) (i32.const 1))))
  (func (export "store_u8") (param i64 i32)
    (if (global.get $slow) (then (return (call $slowStoreU8 (local.get 0) (local.get 1)))))
    (i32.store8 (call $arena (local.get 0) (i64.const 1) (i32.const 2)) (local.get 1)))
  (func (export "store_u64") (param i64 i64)
    (if (global.get $slow) (then (return (call $slowStoreU64 (local.get 0) (local.get 1)))))
    (i64.store (call $arena (local.get 0) (i64.const 8) (i32.const 3)) (local.get 1)))
  (func (export "input_load_u8") (param i64) (result i32)
    (if (global.get $slow) (then (return (call $slowInputLoadU8 (local.get 0)))))
    (i32.load8_u (call $input (local.get 0) (i64.const 1) (i32.const 4))))
  (func (export "input_load_u64") (param i64) (result i64)
    (if (global.get $slow) (then (return (call $slowInputLoadU64 (local.get 0)))))
    (i64.load (call $input (local.get 0) (i64.const 8) (i32.const 5))))
  (func (export "input_length") (result i64)
    (i64.extend_i32_u (global.get $inputLength))))`

/** {@link FAST_PATH_WAT} assembled (wabt), base64. */
export const FAST_PATH_WASM =
  "AGFzbQEAAAABJgdgA39+fwBgAX4Bf2ABfgF+YAJ+fwBgAn5+AGADfn5/AX9gAAF+At8BDAZrZXJuZWwGbWVtb3J5AgAABmtlcm5lbAN0b3ADfwEGa2VybmVsDGlucHV0X29mZnNldAN/AQZrZXJuZWwMaW5wdXRfbGVuZ3RoA38BBmtlcm5lbARzbG93A38BBmtlcm5lbA1vdXRfb2ZfYm91bmRzAAAEc2xvdwdsb2FkX3U4AAEEc2xvdwhsb2FkX3U2NAACBHNsb3cIc3RvcmVfdTgAAwRzbG93CXN0b3JlX3U2NAAEBHNsb3cNaW5wdXRfbG9hZF91OAABBHNsb3cOaW5wdXRfbG9hZF91NjQAAgMKCQUFAQIDBAECBgddBwdsb2FkX3U4AAkIbG9hZF91NjQACghzdG9yZV91OAALCXN0b3JlX3U2NAAMDWlucHV0X2xvYWRfdTgADQ5pbnB1dF9sb2FkX3U2NAAODGlucHV0X2xlbmd0aAAPCvMBCS4BAX4gAEKAgICAEH0hAyADQgBTIAMjAK0gAX1VcgRAIAIgACABpxAAAAsgA6cLJAAgAEIAUyAAIwKtIAF9VXIEQCACIAAgAacQAAALIwEgAKdqCxcAIwMEQCAAEAEPCyAAQgFBABAHLQAACxcAIwMEQCAAEAIPCyAAQghBARAHKQMACxsAIwMEQCAAIAEQAw8LIABCAUECEAcgAToAAAsbACMDBEAgACABEAQPCyAAQghBAxAHIAE3AwALFwAjAwRAIAAQBQ8LIABCAUEEEAgtAAALFwAjAwRAIAAQBg8LIABCCEEFEAgpAwALBQAjAq0L"

/** The names `out_of_bounds` receives as its first argument, in FAST_PATH_WAT's order. */
const FAST_PATH_FUNCTIONS = [
  "load_u8",
  "load_u64",
  "store_u8",
  "store_u64",
  "input_load_u8",
  "input_load_u64",
] as const

// Compiled on first use and shared by every kernel: a compiled module is immutable.
let fastPathModule: WebAssembly.Module | undefined

function fastPath(): WebAssembly.Module {
  fastPathModule ??= new WebAssembly.Module(
    Uint8Array.from(atob(FAST_PATH_WASM), (c) => c.charCodeAt(0)),
  )
  return fastPathModule
}

const i32Global = () => new WebAssembly.Global({ value: "i32", mutable: true }, 0)

/**
 * One plugin instance's Extism kernel. Hand {@link Kernel.env} to `WebAssembly.Instance` as the
 * `extism:host/env` namespace, and bracket every guest call with {@link Kernel.enter} and
 * {@link Kernel.leave}.
 *
 * @example
 * ```ts
 * const kernel = new Kernel({ maxKernelBytes: 16 * 1024 * 1024 })
 * const instance = new WebAssembly.Instance(module, { [EXTISM_ENV]: kernel.env })
 * kernel.enter(new TextEncoder().encode("hello"))
 * try {
 *   ;(instance.exports.greet as () => number)()
 * } finally {
 *   const { output, error } = kernel.leave()
 * }
 * ```
 */
export class Kernel {
  /** The `extism:host/env` import object. */
  readonly env: WebAssembly.ModuleImports

  readonly #maxBytes: number
  readonly #maxVarBytes: number
  readonly #maxOutputBytes: number
  readonly #config: ReadonlyMap<string, string>
  readonly #logger: KernelLogger | undefined
  readonly #logLevel: number

  /** The arena while it fits RETAIN_CAPACITY (fast path); see {@link FAST_PATH_WAT}. */
  readonly #memory: WebAssembly.Memory
  /** The arena: a view of `#memory`, or a JS buffer while `#slow`. */
  #buf: Uint8Array
  #view: DataView
  #slow = false
  /** Bump pointer: bytes of the arena in use. */
  #top = 0
  // What the fast path reads: #top, the current frame's input, #slow.
  readonly #topGlobal = i32Global()
  readonly #inputOffsetGlobal = i32Global()
  readonly #inputLengthGlobal = i32Global()
  readonly #slowGlobal = i32Global()
  /** Live blocks: arena offset → length. */
  readonly #blocks = new Map<number, number>()
  /** Free ranges below `#top`, sorted by start, never adjacent: [start0, size0, start1, size1, …]. */
  readonly #free: number[] = []
  readonly #frames: Frame[] = []
  #cur: Frame = emptyFrame()
  readonly #vars = new Map<string, Uint8Array>()
  #varBytes = 0

  /**
   * A kernel with an empty arena and no vars.
   *
   * @throws {RangeError} when `maxKernelBytes` is not a non-negative integer (a caller bug).
   */
  constructor(options: KernelOptions) {
    if (!Number.isSafeInteger(options.maxKernelBytes) || options.maxKernelBytes < 0) {
      throw new RangeError(
        `maxKernelBytes must be a non-negative integer, got ${options.maxKernelBytes}`,
      )
    }
    this.#maxBytes = options.maxKernelBytes
    this.#maxVarBytes = options.maxVarBytes ?? DEFAULT_MAX_VAR_BYTES
    this.#maxOutputBytes = options.maxOutputBytes ?? Infinity
    this.#config = new Map(Object.entries(options.config ?? {}))
    this.#logger = options.logger
    this.#logLevel = LEVEL_NUMBER[options.logLevel ?? "info"]
    const initial = Math.ceil(Math.min(INITIAL_CAPACITY, align(this.#maxBytes)) / PAGE)
    this.#memory = new WebAssembly.Memory({ initial, maximum: RETAIN_CAPACITY / PAGE })
    this.#buf = new Uint8Array(this.#memory.buffer)
    this.#view = new DataView(this.#memory.buffer)
    this.env = this.#makeEnv()
  }

  /** Open call frames (0 between calls). */
  get depth(): number {
    return this.#frames.length
  }

  /**
   * Opens a call frame whose input is a copy of `input`. Throws {@link KernelTrap} if the input
   * does not fit the budget (the frame is then not opened).
   */
  enter(input: Uint8Array): void {
    const frame = emptyFrame()
    if (input.length > 0) {
      const off = this.#alloc(input.length)
      this.#buf.set(input, off)
      frame.ownInput = off
      frame.inputOff = off
      frame.inputLen = input.length
    }
    this.#frames.push(frame)
    this.#cur = frame
    this.#syncInput()
  }

  /**
   * Closes the innermost frame and returns its output and error. Closing the outermost frame
   * releases every block and zeroes the arena.
   */
  leave(): KernelFrameResult {
    const frame = this.#frames.pop()
    if (frame === undefined) throw new Error("Kernel.leave without a matching enter")
    this.#cur = this.#frames[this.#frames.length - 1] ?? emptyFrame()
    this.#syncInput()
    const output = frame.outputOff >= 0
      ? this.#buf.slice(frame.outputOff, frame.outputOff + frame.outputLen)
      : new Uint8Array(0)
    const error = frame.errorOff >= 0
      ? utf8Lossy.decode(this.#buf.subarray(frame.errorOff, frame.errorOff + frame.errorLen))
      : undefined
    if (this.#frames.length === 0) this.#reset()
    else if (frame.ownInput >= 0) this.#freeBlock(frame.ownInput)
    return { output, error }
  }

  /** A copy of the block at `offset`, or `undefined` when `offset` is 0 or not a live block. */
  read(offset: bigint): Uint8Array | undefined {
    const off = this.#offsetOf(offset)
    const len = this.#blocks.get(off)
    if (len === undefined) return undefined
    return this.#buf.slice(off, off + len)
  }

  /** Allocates a block holding a copy of `bytes`; `0n` for empty bytes (as Extism's `alloc(0)`). */
  write(bytes: Uint8Array): bigint {
    if (bytes.length === 0) return 0n
    const off = this.#alloc(bytes.length)
    this.#buf.set(bytes, off)
    return BigInt(KERNEL_BASE + off)
  }

  /** Removes every var (vars otherwise persist across calls of the instance). */
  clearVars(): void {
    this.#vars.clear()
    this.#varBytes = 0
  }

  /** Current memory use. */
  stats(): KernelStats {
    return {
      arenaBytes: this.#top,
      arenaCapacity: this.#buf.length,
      blocks: this.#blocks.size,
      varBytes: this.#varBytes,
      depth: this.#frames.length,
    }
  }

  // -------------------------------------------------------------------------------------------
  // Arena

  /** Arena offset of a block address; -1 for anything outside the arena (including 0). */
  #offsetOf(address: bigint): number {
    const off = Number(address) - KERNEL_BASE
    return off >= 0 && off < this.#top ? off : -1
  }

  #alloc(length: number): number {
    const size = align(length)
    const free = this.#free
    const scan = Math.min(free.length, MAX_FREE_SCAN * 2)
    for (let i = 0; i < scan; i += 2) {
      const rangeSize = free[i + 1]!
      if (rangeSize >= size) {
        const off = free[i]!
        if (rangeSize === size) free.splice(i, 2)
        else {
          free[i] = off + size
          free[i + 1] = rangeSize - size
        }
        this.#blocks.set(off, length)
        return off
      }
    }
    const off = this.#top
    const end = off + size
    if (end > this.#maxBytes) {
      throw new KernelTrap(
        "kernel_limit",
        `allocation of ${length} bytes exceeds the per-call limit of ${this.#maxBytes} bytes ` +
          `(${off} bytes in use)`,
      )
    }
    if (end > this.#buf.length) this.#grow(end)
    this.#setTop(end)
    this.#blocks.set(off, length)
    return off
  }

  #grow(needed: number): void {
    const capacity = Math.min(Math.max(needed, this.#buf.length * 2), align(this.#maxBytes))
    if (!this.#slow && capacity <= RETAIN_CAPACITY) {
      this.#memory.grow(Math.ceil(capacity / PAGE) - this.#memory.buffer.byteLength / PAGE)
      this.#buf = new Uint8Array(this.#memory.buffer)
      this.#view = new DataView(this.#memory.buffer)
      return
    }
    const next = new Uint8Array(capacity)
    next.set(this.#buf.subarray(0, this.#top))
    if (!this.#slow) {
      // The memory is kept between calls: it must not keep this call's bytes.
      this.#buf.fill(0, 0, this.#top)
      this.#slow = true
      this.#slowGlobal.value = 1
    }
    this.#buf = next
    this.#view = new DataView(next.buffer)
  }

  #setTop(top: number): void {
    this.#top = top
    this.#topGlobal.value = top
  }

  /** Tells the fast path where the current frame's input is. */
  #syncInput(): void {
    this.#inputOffsetGlobal.value = this.#cur.inputOff
    this.#inputLengthGlobal.value = this.#cur.inputLen
  }

  #freeBlock(off: number): void {
    const len = this.#blocks.get(off)
    if (len === undefined) return
    this.#blocks.delete(off)
    this.#release(off, len)
  }

  #release(off: number, length: number): void {
    let start = off
    let size = align(length)
    const free = this.#free
    // Binary search for the first range starting after `start`.
    let lo = 0
    let hi = free.length / 2
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (free[mid * 2]! < start) lo = mid + 1
      else hi = mid
    }
    let at = lo * 2
    if (at > 0 && free[at - 2]! + free[at - 1]! === start) {
      at -= 2
      start = free[at]!
      size += free[at + 1]!
      free.splice(at, 2)
    }
    if (at < free.length && start + size === free[at]!) {
      size += free[at + 1]!
      free.splice(at, 2)
    }
    if (start + size === this.#top) {
      this.#setTop(start)
      return
    }
    free.splice(at, 0, start, size)
  }

  #reset(): void {
    this.#blocks.clear()
    this.#free.length = 0
    if (this.#slow) {
      // Back to the (already zeroed) memory; the large JS buffer is dropped.
      this.#slow = false
      this.#slowGlobal.value = 0
      this.#buf = new Uint8Array(this.#memory.buffer)
      this.#view = new DataView(this.#memory.buffer)
    } else {
      this.#buf.fill(0, 0, this.#top)
    }
    this.#setTop(0)
  }

  /** Arena offset of a live block, or a trap naming the function that got a bad offset. */
  #block(address: bigint, fn: string): number {
    const off = this.#offsetOf(address)
    if (off < 0 || !this.#blocks.has(off)) {
      throw new KernelTrap("kernel_misuse", `${fn}: ${address} is not an allocated block`)
    }
    return off
  }

  #blockText(address: bigint, fn: string): string {
    const off = this.#block(address, fn)
    return utf8Lossy.decode(this.#buf.subarray(off, off + this.#blocks.get(off)!))
  }

  #outOfBounds(fn: string, address: bigint, width: number): never {
    throw new KernelTrap(
      "kernel_misuse",
      `${fn}: ${width} byte(s) at ${address} are outside kernel memory`,
    )
  }

  #log(level: LogLevel, message: string): void {
    this.#logger?.(level, message)
  }

  // -------------------------------------------------------------------------------------------
  // The import object

  #makeEnv(): WebAssembly.ModuleImports {
    const logAt = (level: LogLevel) => (address: bigint): void => {
      if (LEVEL_NUMBER[level] < this.#logLevel) return
      this.#log(level, this.#blockText(address, `log_${level}`))
    }
    const js: WebAssembly.ModuleImports = {
      alloc: (n: bigint): bigint => {
        if (n <= 0n) return 0n
        if (n > BigInt(this.#maxBytes)) {
          throw new KernelTrap(
            "kernel_limit",
            `allocation of ${n} bytes exceeds the per-call limit of ${this.#maxBytes} bytes`,
          )
        }
        return BigInt(KERNEL_BASE + this.#alloc(Number(n)))
      },
      free: (address: bigint): void => {
        const off = this.#offsetOf(address)
        if (!this.#blocks.has(off)) return
        if (off === this.#cur.inputOff) {
          this.#cur.inputLen = 0
          this.#syncInput()
        }
        // The guest owns the block now: `leave` must not free whatever reuses its offset.
        for (const frame of this.#frames) if (frame.ownInput === off) frame.ownInput = -1
        this.#freeBlock(off)
      },
      length: (address: bigint): bigint => BigInt(this.#blocks.get(this.#offsetOf(address)) ?? 0),
      "length_unsafe": (address: bigint): bigint =>
        BigInt(this.#blocks.get(this.#offsetOf(address)) ?? 0),
      "load_u8": (address: bigint): number => {
        const off = Number(address) - KERNEL_BASE
        if (!(off >= 0 && off < this.#top)) this.#outOfBounds("load_u8", address, 1)
        return this.#buf[off]!
      },
      "load_u64": (address: bigint): bigint => {
        const off = Number(address) - KERNEL_BASE
        if (!(off >= 0 && off + 8 <= this.#top)) this.#outOfBounds("load_u64", address, 8)
        return this.#view.getBigInt64(off, true)
      },
      "store_u8": (address: bigint, value: number): void => {
        const off = Number(address) - KERNEL_BASE
        if (!(off >= 0 && off < this.#top)) this.#outOfBounds("store_u8", address, 1)
        this.#buf[off] = value
      },
      "store_u64": (address: bigint, value: bigint): void => {
        const off = Number(address) - KERNEL_BASE
        if (!(off >= 0 && off + 8 <= this.#top)) this.#outOfBounds("store_u64", address, 8)
        this.#view.setBigInt64(off, value, true)
      },
      "input_set": (address: bigint, length: bigint): void => {
        const off = Number(address) - KERNEL_BASE
        const len = Number(length)
        if (address === 0n && length === 0n) {
          this.#cur.inputOff = -1
          this.#cur.inputLen = 0
          this.#syncInput()
          return
        }
        if (!(off >= 0 && len >= 0 && off + len <= this.#top)) {
          this.#outOfBounds("input_set", address, len)
        }
        this.#cur.inputOff = off
        this.#cur.inputLen = len
        this.#syncInput()
      },
      "input_offset": (): bigint =>
        this.#cur.inputOff < 0 ? 0n : BigInt(KERNEL_BASE + this.#cur.inputOff),
      "input_length": (): bigint => BigInt(this.#cur.inputLen),
      "input_load_u8": (offset: bigint): number => {
        const i = Number(offset)
        const frame = this.#cur
        if (!(i >= 0 && i < frame.inputLen)) this.#outOfBounds("input_load_u8", offset, 1)
        return this.#buf[frame.inputOff + i]!
      },
      "input_load_u64": (offset: bigint): bigint => {
        const i = Number(offset)
        const frame = this.#cur
        if (!(i >= 0 && i + 8 <= frame.inputLen)) this.#outOfBounds("input_load_u64", offset, 8)
        return this.#view.getBigInt64(frame.inputOff + i, true)
      },
      "output_set": (address: bigint, length: bigint): void => {
        if (address === 0n && length === 0n) {
          this.#cur.outputOff = -1
          this.#cur.outputLen = 0
          return
        }
        const off = Number(address) - KERNEL_BASE
        const len = Number(length)
        if (!(off >= 0 && len >= 0 && off + len <= this.#top)) {
          this.#outOfBounds("output_set", address, len)
        }
        if (len > this.#maxOutputBytes) {
          throw new KernelTrap(
            "output_limit",
            `output of ${len} bytes exceeds the limit of ${this.#maxOutputBytes} bytes`,
          )
        }
        this.#cur.outputOff = off
        this.#cur.outputLen = len
      },
      "output_offset": (): bigint =>
        this.#cur.outputOff < 0 ? 0n : BigInt(KERNEL_BASE + this.#cur.outputOff),
      "output_length": (): bigint => BigInt(this.#cur.outputLen),
      "error_set": (address: bigint): void => {
        if (address === 0n) {
          this.#cur.errorOff = -1
          this.#cur.errorLen = 0
          return
        }
        const off = this.#block(address, "error_set")
        this.#cur.errorOff = off
        this.#cur.errorLen = this.#blocks.get(off)!
      },
      "error_get": (): bigint =>
        this.#cur.errorOff < 0 ? 0n : BigInt(KERNEL_BASE + this.#cur.errorOff),
      "memory_bytes": (): bigint => BigInt(this.#top),
      "config_get": (address: bigint): bigint => {
        const value = this.#config.get(this.#blockText(address, "config_get"))
        return value === undefined ? 0n : this.write(utf8.encode(value))
      },
      "var_get": (address: bigint): bigint => {
        const value = this.#vars.get(this.#blockText(address, "var_get"))
        return value === undefined ? 0n : this.write(value)
      },
      "var_set": (keyAddress: bigint, valueAddress: bigint): void => {
        if (this.#maxVarBytes === 0) {
          throw new KernelTrap("var_limit", "vars are disabled by this host")
        }
        const key = this.#blockText(keyAddress, "var_set")
        const keyBytes = utf8.encode(key).length
        const old = this.#vars.get(key)
        const oldBytes = old === undefined ? 0 : keyBytes + old.length
        if (valueAddress === 0n) {
          this.#vars.delete(key)
          this.#varBytes -= oldBytes
          return
        }
        const off = this.#block(valueAddress, "var_set")
        const value = this.#buf.slice(off, off + this.#blocks.get(off)!)
        const total = this.#varBytes - oldBytes + keyBytes + value.length
        if (total > this.#maxVarBytes) {
          throw new KernelTrap(
            "var_limit",
            `variable store is full (${total} bytes would exceed the limit of ${this.#maxVarBytes})`,
          )
        }
        this.#vars.set(key, value)
        this.#varBytes = total
      },
      "http_request": (request: bigint, _body: bigint): bigint => {
        let url = "an unreadable request"
        const off = this.#offsetOf(request)
        const len = this.#blocks.get(off)
        if (len !== undefined) {
          try {
            const parsed: unknown = JSON.parse(utf8Lossy.decode(this.#buf.subarray(off, off + len)))
            if (typeof parsed === "object" && parsed !== null && "url" in parsed) {
              url = String(parsed.url)
            }
          } catch {
            // keep the generic description
          }
        }
        this.#log("error", `http_request is not allowed (request to ${url})`)
        return 0n
      },
      "http_status_code": (): number => 0,
      "http_headers": (): bigint => 0n,
      "log_trace": logAt("trace"),
      "log_debug": logAt("debug"),
      "log_info": logAt("info"),
      "log_warn": logAt("warn"),
      "log_error": logAt("error"),
      "get_log_level": (): number => this.#logLevel,
    }
    // The per-8-bytes functions come from the fast path, which forwards to `js` while `#slow`.
    const slow: WebAssembly.ModuleImports = {}
    for (const name of FAST_PATH_FUNCTIONS) slow[name] = js[name]!
    const fast = new WebAssembly.Instance(fastPath(), {
      kernel: {
        memory: this.#memory,
        top: this.#topGlobal,
        "input_offset": this.#inputOffsetGlobal,
        "input_length": this.#inputLengthGlobal,
        slow: this.#slowGlobal,
        "out_of_bounds": (fn: number, address: bigint, width: number): void =>
          this.#outOfBounds(FAST_PATH_FUNCTIONS[fn] ?? "kernel", address, width),
      },
      slow,
    })
    for (const name of [...FAST_PATH_FUNCTIONS, "input_length"]) js[name] = fast.exports[name]!
    return js
  }
}
