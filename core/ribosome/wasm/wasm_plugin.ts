/**
 * `WasmPlugin`: one instantiated Extism guest with our own kernel ({@link Kernel}), driven
 * synchronously. It owns the instance, its kernel and its fuel global, and turns everything a
 * guest call can end with (output, `error_set`, a trap, fuel or memory exhaustion, a host
 * function's short circuit) into one {@link CallResult} value.
 *
 * Synchronous on purpose: instantiation is `new WebAssembly.Instance` and `call` returns the
 * result directly, so a host function of one plugin can call into another plugin and use its
 * output before returning to its own guest (`call_1`). After any trap or short circuit the
 * instance is {@link WasmPlugin.poisoned} and the owner discards it.
 *
 * Modules normally come from {@link prepareWasm} (rewritten by `instrumentWasm`), which meters
 * fuel; an unmetered module (from `inspectWasm`) runs with `fuelUsed` always `0n`.
 *
 * @module
 */
import {
  FUEL_EXPORT,
  type FuncType,
  type InstrumentError,
  type InstrumentOptions,
  instrumentWasm,
  REFUEL_EXPORT,
  WASM_PAGE_BYTES,
  type WasmModuleInfo,
} from "../../wasm/mod.ts"
import {
  EXTISM_ENV,
  EXTISM_USER,
  Kernel,
  KERNEL_SIGNATURES,
  type KernelOptions,
  KernelTrap,
} from "./kernel.ts"
import { promising, suspending } from "./jspi.ts"

/** What a user host function may do with the calling plugin's kernel and fuel. */
export interface KernelAccess {
  /** A copy of the block at `offset`; `undefined` for `0` ("no input") or a non-block. */
  read(offset: bigint): Uint8Array | undefined
  /** Allocates a block holding a copy of `bytes` and returns its offset (`0n` for empty bytes). */
  write(bytes: Uint8Array): bigint
  /**
   * Charges `amount` extra fuel to the running call (for host work the instruction count does
   * not see). If the fuel runs out the guest traps with `fuelExhausted`.
   */
  chargeFuel(amount: bigint): void
  /** Fuel left in the running call; `undefined` for an unmetered module. */
  fuelRemaining(): bigint | undefined
}

/**
 * A host function in the `extism:host/user` namespace with the ABI's signature `(i64) -> i64`:
 * it receives the offset of its input block and returns the offset of its output block, or a
 * promise of it. The guest is suspended (JSPI) while the promise is pending; other calls run.
 */
export type UserHostFunction = (host: KernelAccess, offset: bigint) => bigint | Promise<bigint>

/**
 * Thrown by a user host function to stop the guest at once; the `call` that runs the guest
 * returns `{ _tag: "ShortCircuit", value }` (abi.md §2.2, `must_get_*` in `validate`).
 *
 * @example
 * ```ts
 * const mustGet: UserHostFunction = (host, offset) => {
 *   throw new ShortCircuit({ unresolved: [hash] })
 * }
 * ```
 */
export class ShortCircuit<T = unknown> extends Error {
  /** Stops the guest; `value` becomes the call's `ShortCircuit` result. */
  constructor(readonly value: T) {
    super("host function short-circuited the guest")
    this.name = "ShortCircuit"
  }
}

/** Thrown when the call's fuel budget runs out (at a refuel or by `chargeFuel`). */
class FuelExhausted extends Error {
  constructor() {
    super("fuel exhausted")
    this.name = "FuelExhausted"
  }
}

/** Thrown at a refuel when the call's `preempt` asks it to stop. */
class Preempted extends Error {
  constructor() {
    super("preempted at the end of a fuel slice")
    this.name = "Preempted"
  }
}

/** Thrown at a refuel once the call's wall-clock deadline has passed. */
export class DeadlineExceeded extends Error {
  /** The deadline passed `overMs` milliseconds ago. */
  constructor(readonly overMs: number) {
    super(`wall-clock deadline exceeded by ${overMs.toFixed(0)} ms`)
    this.name = "DeadlineExceeded"
  }
}

/** Fuel loaded into the guest per slice when no `sliceFuel` option is given. */
export const DEFAULT_SLICE_FUEL = 5_000_000n

/**
 * Lets the event loop run other work: a macrotask (`setImmediate`), so timers, I/O callbacks
 * and other calls' continuations run before the guest resumes.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Per-call limits of {@link WasmPlugin.call}. */
export interface CallLimits {
  /** Fuel budget of the call (a nested call gets at most its caller's remaining fuel). */
  readonly fuel: bigint
  /**
   * `performance.now()` value after which the call traps (`deadline_exceeded`) at its next
   * refuel; none: no wall-clock limit.
   */
  readonly deadline?: number | undefined
  /**
   * Asked at each refuel of a top-level asynchronous call (once per slice used up): when it
   * returns true the call stops there with a `preempted` trap (the instance is poisoned), so
   * that the caller can run it again elsewhere (`ribosome.workers`).
   */
  readonly preempt?: (() => boolean) | undefined
}

/**
 * Options of {@link WasmPlugin.create}: the kernel's (`maxKernelBytes`, the per-top-level-call
 * cap on the kernel arena; `maxVarBytes`; `config`; `logger`; `logLevel`) plus the host
 * functions.
 */
export interface WasmPluginOptions extends KernelOptions {
  /** The `extism:host/user` functions the guest may import. */
  readonly hostFunctions?: Readonly<Record<string, UserHostFunction>> | undefined
  /**
   * Fuel loaded into the guest at a time. When a slice is used up the guest calls the host,
   * which checks the call's budget and deadline, yields to the event loop, and loads the next
   * slice: the larger the slice, the longer other work waits behind a busy guest.
   * @default DEFAULT_SLICE_FUEL
   */
  readonly sliceFuel?: bigint | undefined
  /**
   * Plain (non-suspending) imports, for callers that must finish on the spot (inside a
   * synchronous database transaction): call it with {@link WasmPlugin.callSync}; the guest
   * never yields, and a host function that returns a promise traps it.
   */
  readonly synchronous?: boolean | undefined
}

/** Why a trap happened. */
export type TrapKind =
  /** The fuel global went below zero (instruction budget or `chargeFuel`). */
  | "fuel_exhausted"
  /** The call's wall-clock deadline passed. */
  | "deadline_exceeded"
  /** The guest named an output larger than `maxOutputBytes`. */
  | "output_limit"
  /** A wasm trap while the guest's memory was at its cap (a failed `memory.grow` upstream). */
  | "memory_exhausted"
  /** The kernel arena budget (`maxKernelBytes`) was exceeded. */
  | "kernel_limit"
  /** The var store cap was exceeded, or vars are disabled. */
  | "var_limit"
  /** The guest passed the kernel an invalid offset or range. */
  | "kernel_misuse"
  /** The JS/wasm call stack overflowed (deep recursion). */
  | "stack_overflow"
  /** Any other wasm trap (`unreachable`, out-of-bounds access, division by zero, …). */
  | "wasm_trap"
  /** A host function threw something other than {@link ShortCircuit}. */
  | "host_error"
  /**
   * The instance was poisoned by an earlier trap (nothing ran), or a re-entrant call into it
   * trapped while this call was running (its output is not trusted).
   */
  | "poisoned"
  /**
   * The worker thread running the instance died or stopped answering (`ribosome.workers`): the
   * call did not complete and nothing it wrote was committed.
   */
  | "worker_died"
  /** The call's `preempt` stopped it at the end of a fuel slice (see {@link CallLimits}). */
  | "preempted"

/** The guest returned normally with no error: `output` is what it passed to `output_set`. */
export interface CallOk {
  /** Discriminant. */
  readonly _tag: "Ok"
  /** Copy of the bytes the guest passed to `output_set` (empty if none). */
  readonly output: Uint8Array
  /** Fuel the call consumed (0 for an unmetered module). */
  readonly fuelUsed: bigint
}

/** The guest set an error with `error_set`, or returned a non-zero code. */
export interface CallGuestError {
  /** Discriminant. */
  readonly _tag: "GuestError"
  /** The `error_set` text, or the non-zero exit code. */
  readonly message: string
  /** Fuel the call consumed. */
  readonly fuelUsed: bigint
}

/** The guest trapped; the instance is now poisoned. */
export interface CallTrap {
  /** Discriminant. */
  readonly _tag: "Trap"
  /** Why the guest trapped. */
  readonly kind: TrapKind
  /** The trap's message, preceded by the guest's `error_set` text when it set one first. */
  readonly message: string
  /** True when the fuel ran out (the fuel global went below zero). */
  readonly fuelExhausted: boolean
  /** True when the guest's (exported) memory had reached its cap when it trapped. */
  readonly memoryExhausted: boolean
  /** Fuel the call consumed (the whole budget when it ran out). */
  readonly fuelUsed: bigint
}

/** A host function threw {@link ShortCircuit}; the instance is now poisoned. */
export interface CallShortCircuit {
  /** Discriminant. */
  readonly _tag: "ShortCircuit"
  /** The value the host function threw with. */
  readonly value: unknown
  /** Fuel the call consumed up to the short circuit. */
  readonly fuelUsed: bigint
}

/** The name is not a callable export (`() -> i32`, not starting with `__`). */
export interface CallFunctionNotFound {
  /** Discriminant. */
  readonly _tag: "FunctionNotFound"
  /** The name that was called. */
  readonly name: string
  /** Why it is not callable. */
  readonly message: string
}

/** Everything {@link WasmPlugin.call} can end with. */
export type CallResult =
  | CallOk
  | CallGuestError
  | CallTrap
  | CallShortCircuit
  | CallFunctionNotFound

/** The module imports something this host does not provide (or with the wrong signature). */
export interface PluginLinkError {
  /** Discriminant. */
  readonly _tag: "LinkError"
  /** Names the import and what is wrong with it. */
  readonly message: string
}

/** The start function or `_initialize` trapped (or ran out of the instrumented initial fuel). */
export interface PluginInstantiateError {
  /** Discriminant. */
  readonly _tag: "InstantiateError"
  /** The trap or error of the start function or initialiser. */
  readonly message: string
  /** True when it ran out of the instrumented initial fuel. */
  readonly fuelExhausted: boolean
}

/** A created plugin. */
export interface PluginCreated {
  /** Discriminant. */
  readonly _tag: "Created"
  /** The new plugin. */
  readonly plugin: WasmPlugin
}

/** Result of {@link WasmPlugin.create}. */
export type PluginCreateResult = PluginCreated | PluginLinkError | PluginInstantiateError

/** A module compiled and ready for {@link WasmPlugin.create}. */
export interface PreparedWasm {
  /** Discriminant. */
  readonly _tag: "Prepared"
  /** The compiled, instrumented module. */
  readonly module: WebAssembly.Module
  /** Its imports, exports and memory limits. */
  readonly info: WasmModuleInfo
}

/**
 * Instruments `bytes` (fuel metering, memory cap) and compiles the result synchronously.
 *
 * @example
 * ```ts
 * const prepared = prepareWasm(bytes, { maxMemoryPages: 256, initialFuel: 10_000_000n })
 * if (prepared._tag !== "Prepared") throw new Error(prepared.message)
 * ```
 */
export function prepareWasm(
  bytes: Uint8Array,
  options: InstrumentOptions,
): PreparedWasm | InstrumentError {
  const result = instrumentWasm(bytes, options)
  if (result._tag === "InstrumentError") return result
  const info: WasmModuleInfo = {
    imports: result.imports,
    exports: result.exports,
    memories: result.memories,
    metered: result.metered,
    start: result.start,
  }
  return { _tag: "Prepared", module: new WebAssembly.Module(result.bytes), info }
}

function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i])
}

function showType(t: FuncType): string {
  return `(${t.params.join(", ")}) -> (${t.results.join(", ")})`
}

const USER_FN_TYPE: FuncType = { params: ["i64"], results: ["i64"] }

function checkImports(
  info: WasmModuleInfo,
  hostFunctions: Readonly<Record<string, UserHostFunction>>,
): PluginLinkError | undefined {
  for (const imp of info.imports) {
    const where = `${imp.module}::${imp.name}`
    if (imp.kind !== "function" || imp.type === undefined) {
      return {
        _tag: "LinkError",
        message: `unknown import ${where} (a ${imp.kind}); only functions are provided`,
      }
    }
    if (imp.module === EXTISM_ENV) {
      const expected = Object.hasOwn(KERNEL_SIGNATURES, imp.name)
        ? KERNEL_SIGNATURES[imp.name]
        : undefined
      if (expected === undefined) {
        return { _tag: "LinkError", message: `unknown kernel import ${where}` }
      }
      if (!sameType(expected, imp.type)) {
        return {
          _tag: "LinkError",
          message: `kernel import ${where} has type ${showType(imp.type)}, expected ${
            showType(expected)
          }`,
        }
      }
    } else if (imp.module === EXTISM_USER) {
      if (!Object.hasOwn(hostFunctions, imp.name)) {
        return { _tag: "LinkError", message: `unknown host function import ${where}` }
      }
      if (!sameType(USER_FN_TYPE, imp.type)) {
        return {
          _tag: "LinkError",
          message: `host function import ${where} has type ${showType(imp.type)}, expected ${
            showType(USER_FN_TYPE)
          }`,
        }
      }
    } else {
      return {
        _tag: "LinkError",
        message: `unknown import ${where} (module "${imp.module}" is not provided)`,
      }
    }
  }
  return undefined
}

const NO_ARGS: FuncType = { params: [], results: [] }

/**
 * Exports to run once after instantiation, in order: the moved start function, then the guest
 * runtime initialiser Extism runs (`__wasm_call_ctors`, else `_initialize`).
 */
function initializers(info: WasmModuleInfo): string[] {
  const names: string[] = info.start === undefined ? [] : [info.start]
  const isInit = (name: string) =>
    info.exports.some((e) =>
      e.name === name && e.kind === "function" && e.type !== undefined && sameType(e.type, NO_ARGS)
    )
  if (isInit("__wasm_call_ctors")) names.push("__wasm_call_ctors")
  else if (isInit("_initialize")) names.push("_initialize")
  return names
}

function fuelGlobal(
  instance: WebAssembly.Instance,
  info: WasmModuleInfo,
): WebAssembly.Global | undefined {
  const global = info.metered ? instance.exports[FUEL_EXPORT] : undefined
  return global instanceof WebAssembly.Global ? global : undefined
}

/**
 * `(module (import "c" "r" (func)) (func (export "r") call 0))`: re-exports a suspending host
 * function as a wasm function, which is what a table slot can hold.
 */
const REFUEL_TRAMPOLINE = new WebAssembly.Module(
  Uint8Array.of(
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type () -> ()
    ...[0x02, 0x07, 0x01, 0x01, 0x63, 0x01, 0x72, 0x00, 0x00], // import "c" "r"
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x07, 0x05, 0x01, 0x01, 0x72, 0x00, 0x01], // export "r" = function 1
    ...[0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b], // body: call 0
  ),
)

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message)
}

/** An export as the plugin calls it: through `WebAssembly.promising`, or directly (synchronous). */
type GuestFn = () => unknown

/** A call that has entered the kernel and loaded its fuel. */
interface Begun {
  readonly fn: GuestFn
  readonly saved: FuelFrame
  readonly outer: bigint
  readonly start: bigint
  readonly nested: boolean
}

/** The running call's limits, saved around a nested call. */
interface FuelFrame {
  readonly reserve: bigint
  readonly deadline: number | undefined
  readonly preempt: (() => boolean) | undefined
}

/**
 * One guest instance. Create it with {@link WasmPlugin.create}; call exports with
 * {@link WasmPlugin.call}.
 *
 * Calls run under JSPI: every export is called through `WebAssembly.promising` and every user
 * host function is a `WebAssembly.Suspending` import, so a host function may return a promise
 * and the guest waits without blocking the thread. The fuel meter hands out fuel in slices;
 * at the end of each slice the host checks the budget and the deadline and yields to the event
 * loop. An instance runs one call tree at a time: a host function may call back into it
 * (nested, strictly inside the outer call), but an unrelated call must use another instance.
 *
 * @example
 * ```ts
 * const prepared = prepareWasm(bytes, { maxMemoryPages: 256, initialFuel: 10_000_000n })
 * if (prepared._tag !== "Prepared") throw new Error(prepared.message)
 * const created = await WasmPlugin.create(prepared.module, prepared.info, { maxKernelBytes: 8 << 20 })
 * if (created._tag !== "Created") throw new Error(created.message)
 * const result = await created.plugin.call("greet", new TextEncoder().encode("Ada"), 1_000_000n)
 * if (result._tag === "Ok") console.log(new TextDecoder().decode(result.output))
 * ```
 */
export class WasmPlugin {
  readonly #kernel: Kernel
  readonly #functions: ReadonlyMap<string, GuestFn>
  readonly #synchronous: boolean
  readonly #fuel: WebAssembly.Global | undefined
  readonly #memory: WebAssembly.Memory | undefined
  readonly #memoryCapPages: number | undefined
  readonly #slice: bigint
  /** Fuel of the running call not yet loaded into the fuel global. */
  #reserve = 0n
  #deadline: number | undefined
  #preempt: (() => boolean) | undefined
  #poisoned = false

  private constructor(
    kernel: Kernel,
    instance: WebAssembly.Instance,
    info: WasmModuleInfo,
    slice: bigint,
    synchronous: boolean,
  ) {
    this.#kernel = kernel
    this.#slice = slice > 0n ? slice : 1n
    this.#synchronous = synchronous
    const exports = instance.exports
    const functions = new Map<string, GuestFn>()
    for (const e of info.exports) {
      const fn = exports[e.name]
      if (
        e.kind === "function" && e.type !== undefined && e.type.params.length === 0 &&
        e.type.results.length === 1 && e.type.results[0] === "i32" && !e.name.startsWith("__") &&
        typeof fn === "function"
      ) {
        functions.set(e.name, synchronous ? fn as GuestFn : promising(fn as GuestFn))
      }
    }
    this.#functions = functions
    this.#fuel = fuelGlobal(instance, info)
    const memoryExport = info.exports.find((e) => e.kind === "memory")
    const memory = memoryExport === undefined ? undefined : exports[memoryExport.name]
    this.#memory = memory instanceof WebAssembly.Memory ? memory : undefined
    this.#memoryCapPages = info.memories[0]?.maximumPages
  }

  /**
   * Links and instantiates `module`. `info` describes the module (from {@link prepareWasm},
   * `instrumentWasm` or `inspectWasm`); every import must be a kernel function with its Extism
   * signature or a `hostFunctions` entry of type `(i64) -> i64`. The start function and
   * `__wasm_call_ctors` or `_initialize` (as Extism runs them) run here, bounded by the
   * instrumented initial fuel (they cannot yield).
   */
  static create(
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    options: WasmPluginOptions,
  ): Promise<PluginCreateResult> {
    return Promise.resolve(WasmPlugin.#create(module, info, { ...options, synchronous: false }))
  }

  /**
   * {@link WasmPlugin.create} for a synchronous plugin (see `synchronous`): linked and
   * initialised on the spot, called with {@link WasmPlugin.callSync}.
   */
  static createSync(
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    options: WasmPluginOptions,
  ): PluginCreateResult {
    return WasmPlugin.#create(module, info, { ...options, synchronous: true }) as PluginCreateResult
  }

  static #create(
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    options: WasmPluginOptions,
  ): PluginCreateResult | Promise<PluginCreateResult> {
    const hostFunctions = options.hostFunctions ?? {}
    const linkError = checkImports(info, hostFunctions)
    if (linkError !== undefined) return linkError

    const kernel = new Kernel(options)
    // The plugin exists once the instance does; host functions only run after that.
    let plugin: WasmPlugin | undefined
    const access: KernelAccess = {
      read: (offset) => kernel.read(offset),
      write: (bytes) => kernel.write(bytes),
      chargeFuel: (amount) => plugin === undefined ? undefined : plugin.#charge(amount),
      fuelRemaining: () => plugin === undefined ? undefined : plugin.#remaining(),
    }
    const synchronous = options.synchronous === true
    const user: WebAssembly.ModuleImports = {}
    for (const imp of info.imports) {
      if (imp.module !== EXTISM_USER) continue
      const fn = hostFunctions[imp.name]!
      user[imp.name] = synchronous
        ? (offset: bigint) => {
          const out = fn(access, offset)
          if (typeof out !== "bigint") {
            void out.catch(() => {})
            throw new Error(`host function ${imp.name} cannot wait in a synchronous call`)
          }
          return out
        }
        : suspending((offset: bigint) => fn(access, offset))
    }

    const failed = (e: unknown): PluginInstantiateError => ({
      _tag: "InstantiateError",
      message: e instanceof FuelExhausted
        ? `instantiation ran out of fuel: ${errorMessage(e)}`
        : `instantiation failed: ${errorMessage(e)}`,
      fuelExhausted: e instanceof FuelExhausted,
    })
    kernel.enter(new Uint8Array(0))
    let inits: Array<GuestFn>
    // Set when the initialisers run asynchronously: that path leaves the kernel frame itself.
    let handedOver = false
    try {
      const instance = new WebAssembly.Instance(module, {
        [EXTISM_ENV]: kernel.env,
        [EXTISM_USER]: user,
      })
      const created = new WasmPlugin(
        kernel,
        instance,
        info,
        options.sliceFuel ?? DEFAULT_SLICE_FUEL,
        synchronous,
      )
      plugin = created
      const table = instance.exports[REFUEL_EXPORT]
      if (table instanceof WebAssembly.Table) {
        const refuel = synchronous
          ? () => created.#refuelSync()
          : suspending(() => created.#refuel())
        const trampoline = new WebAssembly.Instance(REFUEL_TRAMPOLINE, { c: { r: refuel } })
        table.set(0, trampoline.exports["r"] as () => void)
      }
      inits = initializers(info).map((name) => instance.exports[name] as GuestFn)
      if (synchronous) {
        for (const init of inits) init()
        return { _tag: "Created", plugin: created }
      }
      handedOver = true
    } catch (e) {
      return failed(e)
    } finally {
      if (!handedOver) kernel.leave()
    }
    const created = plugin
    return (async (): Promise<PluginCreateResult> => {
      try {
        for (const init of inits) await promising(init)()
        return { _tag: "Created", plugin: created }
      } catch (e) {
        return failed(e)
      } finally {
        kernel.leave()
      }
    })()
  }

  /** True after a trap or short circuit: the instance may be inconsistent and must be discarded. */
  get poisoned(): boolean {
    return this.#poisoned
  }

  /** True when the module is fuel-metered. */
  get metered(): boolean {
    return this.#fuel !== undefined
  }

  /** True while a call runs (or waits) in this instance. */
  get running(): boolean {
    return this.#kernel.depth > 0
  }

  /** Bytes of linear memory the instance holds (its exported memory; 0 if none). */
  get memoryBytes(): number {
    return this.#memory?.buffer.byteLength ?? 0
  }

  /** Names of the callable exports: functions of type `() -> i32` not starting with `__`. */
  exports(): ReadonlyArray<string> {
    return [...this.#functions.keys()]
  }

  /** Removes every var of the instance (vars otherwise persist across calls, as in Extism). */
  clearVars(): void {
    this.#kernel.clearVars()
  }

  /** Fuel left in the running call. */
  #remaining(): bigint | undefined {
    const global = this.#fuel
    return global === undefined ? undefined : this.#reserve + (global.value as bigint)
  }

  #charge(amount: bigint): void {
    const global = this.#fuel
    if (global === undefined) return
    const left = (global.value as bigint) - amount
    global.value = left
    if (this.#reserve + left < 0n) throw new FuelExhausted()
  }

  /** Puts up to one slice of `total` into the fuel global and the rest in reserve. */
  #load(total: bigint): void {
    const slice = total < this.#slice ? total : this.#slice
    this.#fuel!.value = slice
    this.#reserve = total - slice
  }

  /** Called by the guest when the fuel global goes below zero. */
  #refuel(): Promise<void> {
    if (this.#preempt?.() === true) throw new Preempted()
    this.#refuelSync()
    return yieldToEventLoop()
  }

  /** Checks the budget and the deadline and loads the next slice (no yield). */
  #refuelSync(): void {
    const total = this.#remaining() ?? 0n
    if (total < 0n) throw new FuelExhausted()
    if (this.#deadline !== undefined) {
      const over = performance.now() - this.#deadline
      if (over >= 0) throw new DeadlineExceeded(over)
    }
    this.#load(total)
  }

  /**
   * Calls export `name` with `input` within `limits` (a bare bigint is a fuel budget).
   * Re-entrant: a host function may call this plugin again (the inner call gets at most the
   * outer call's remaining fuel, is charged to it, and keeps its deadline) or any other plugin.
   * Only for a plugin created without `synchronous`.
   */
  async call(name: string, input: Uint8Array, limits: bigint | CallLimits): Promise<CallResult> {
    const begun = this.#begin(name, input, limits, false)
    if ("_tag" in begun) return begun
    try {
      return this.#finish(begun, await begun.fn(), undefined)
    } catch (e) {
      return this.#finish(begun, undefined, { error: e })
    }
  }

  /**
   * {@link WasmPlugin.call} for a plugin created with `synchronous`: runs to the end on this
   * thread; the guest never yields, and a host function that returns a promise traps it.
   */
  callSync(name: string, input: Uint8Array, limits: bigint | CallLimits): CallResult {
    const begun = this.#begin(name, input, limits, true)
    if ("_tag" in begun) return begun
    try {
      return this.#finish(begun, begun.fn(), undefined)
    } catch (e) {
      return this.#finish(begun, undefined, { error: e })
    }
  }

  #begin(
    name: string,
    input: Uint8Array,
    limits: bigint | CallLimits,
    sync: boolean,
  ): Begun | CallResult {
    const { fuel, deadline, preempt } = typeof limits === "bigint"
      ? { fuel: limits, deadline: undefined, preempt: undefined }
      : limits
    if (this.#poisoned) {
      return {
        _tag: "Trap",
        kind: "poisoned",
        message: "the instance was poisoned by an earlier trap",
        fuelExhausted: false,
        memoryExhausted: false,
        fuelUsed: 0n,
      }
    }
    const fn = this.#functions.get(name)
    if (fn === undefined) {
      return { _tag: "FunctionNotFound", name, message: `no callable export named "${name}"` }
    }
    if (sync !== this.#synchronous) {
      throw new Error(
        sync
          ? "callSync needs a plugin created with synchronous: true"
          : "call needs a plugin created without synchronous",
      )
    }
    try {
      this.#kernel.enter(input)
    } catch (e) {
      this.#poisoned = true
      return this.#trap(e, "", 0n)
    }
    const metered = this.#fuel !== undefined
    const nested = this.#kernel.depth > 1
    const saved: FuelFrame = {
      reserve: this.#reserve,
      deadline: this.#deadline,
      preempt: this.#preempt,
    }
    // Only a top-level call may be preempted: a nested one runs inside its caller's host call.
    this.#preempt = nested ? undefined : preempt
    const outer = metered && nested ? this.#remaining()! : fuel
    const start = outer < fuel ? outer : fuel
    if (metered) this.#load(start)
    this.#deadline =
      saved.deadline === undefined || (deadline !== undefined && deadline < saved.deadline)
        ? deadline
        : saved.deadline
    return { fn, saved, outer, start, nested }
  }

  #finish(begun: Begun, rc: unknown, thrown: { error: unknown } | undefined): CallResult {
    const { saved, outer, start, nested } = begun
    let fuelUsed = 0n
    if (this.#fuel !== undefined) {
      const remaining = this.#remaining()!
      fuelUsed = start - (remaining < 0n ? 0n : remaining)
      if (nested) this.#load(outer - fuelUsed)
      else this.#reserve = 0n
    }
    this.#deadline = saved.deadline
    this.#preempt = saved.preempt
    const frame = this.#kernel.leave()

    if (thrown !== undefined) {
      this.#poisoned = true
      if (thrown.error instanceof ShortCircuit) {
        return { _tag: "ShortCircuit", value: thrown.error.value, fuelUsed }
      }
      return this.#trap(thrown.error, frame.error ?? "", fuelUsed)
    }
    if (this.#poisoned) {
      // A re-entrant call into this instance trapped while this one was running: whatever the
      // guest did afterwards ran on inconsistent state.
      return {
        _tag: "Trap",
        kind: "poisoned",
        message: "a nested call into this instance trapped during the call",
        fuelExhausted: false,
        memoryExhausted: this.#memoryAtCap(),
        fuelUsed,
      }
    }
    if (frame.error !== undefined) return { _tag: "GuestError", message: frame.error, fuelUsed }
    if (rc !== 0) {
      return {
        _tag: "GuestError",
        message: `guest returned non-zero exit code ${String(rc)}`,
        fuelUsed,
      }
    }
    return { _tag: "Ok", output: frame.output, fuelUsed }
  }

  #memoryAtCap(): boolean {
    if (this.#memory === undefined || this.#memoryCapPages === undefined) return false
    return this.#memory.buffer.byteLength / WASM_PAGE_BYTES >= this.#memoryCapPages
  }

  #trap(error: unknown, guestMessage: string, fuelUsed: bigint): CallTrap {
    const memoryExhausted = this.#memoryAtCap()
    const fuelExhausted = error instanceof FuelExhausted
    let kind: TrapKind
    if (fuelExhausted) kind = "fuel_exhausted"
    else if (error instanceof DeadlineExceeded) kind = "deadline_exceeded"
    else if (error instanceof Preempted) kind = "preempted"
    else if (error instanceof KernelTrap) kind = error.kind
    else if (isStackOverflow(error)) kind = "stack_overflow"
    else if (error instanceof WebAssembly.RuntimeError) {
      kind = memoryExhausted ? "memory_exhausted" : "wasm_trap"
    } else kind = "host_error"
    const base = errorMessage(error)
    const message = guestMessage === "" ? base : `${guestMessage} (${base})`
    return { _tag: "Trap", kind, message, fuelExhausted, memoryExhausted, fuelUsed }
  }
}
