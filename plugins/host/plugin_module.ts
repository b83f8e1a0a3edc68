/**
 * The conductor side of Extism plugins that are not zomes (`type: wasm` receptors and
 * host-function plugins): reading and instrumenting a plugin's `.wasm` under its configured
 * limits, checking its imports against what it was granted, reading its manifest, and a small
 * pool of instances that runs calls with the engine's limits (fuel, wall-clock deadline, output
 * size, memory cap). A call that traps poisons only its own instance, which is dropped; the next
 * call gets a fresh one. It reuses the ribosome's `WasmPlugin` and instrumenter; it knows nothing
 * about receptors or zomes.
 *
 * @module
 */
import { decodeUntrusted, describeDecodeError } from "../../core/codec/mod.ts"
import type { PluginLimits } from "../../core/config/mod.ts"
import {
  type CallResult,
  EXTISM_USER,
  type KernelLogger,
  type PreparedWasm,
  prepareWasm,
  type TrapKind,
  type UserHostFunction,
  WASM_PAGE_BYTES,
  WasmPlugin,
} from "../../core/ribosome/wasm/mod.ts"

/** Largest `.wasm` file a plugin may be. */
export const MAX_PLUGIN_FILE_BYTES = 64 * 2 ** 20

/** The plugin ABI version this conductor implements (docs/abi.md, "Plugins"). */
export const PLUGIN_ABI_VERSION = 1

/** Fuel charged for one import call, as for zomes (tracks wall time in host-call loops). */
const HOST_CALL_COST = 300

/** A plugin `.wasm` read and instrumented. */
export interface LoadedWasm {
  /** The absolute file it came from. */
  readonly file: string
  readonly prepared: PreparedWasm
}

/** Reads `file` (bounded) and instruments it under `limits`; the problem as text otherwise. */
export function loadPluginWasm(
  file: string,
  limits: PluginLimits,
): { readonly loaded: LoadedWasm } | { readonly problem: string } {
  let bytes: Uint8Array
  try {
    const size = Deno.statSync(file).size
    if (size > MAX_PLUGIN_FILE_BYTES) {
      return { problem: `${file} is ${size} bytes, more than ${MAX_PLUGIN_FILE_BYTES}` }
    }
    bytes = Deno.readFileSync(file)
  } catch (cause) {
    return {
      problem: cause instanceof Deno.errors.NotFound
        ? `${file} does not exist`
        : `cannot read ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
    }
  }
  const prepared = prepareWasm(bytes, {
    maxMemoryPages: Math.floor(limits.max_memory_mb * 2 ** 20 / WASM_PAGE_BYTES),
    initialFuel: BigInt(limits.fuel_per_call),
    hostCallCost: HOST_CALL_COST,
  })
  if (prepared._tag !== "Prepared") {
    return { problem: `${file} is not a usable wasm module: ${prepared.message}` }
  }
  return { loaded: { file, prepared } }
}

/**
 * Checks the `extism:host/user` imports of a plugin against what it was granted: `granted` maps
 * each host function it may import to nothing, `offered` maps every host function of its kind to
 * the capability (config key) that grants it. The first import outside both is the problem.
 */
export function checkGrantedImports(
  loaded: LoadedWasm,
  granted: ReadonlySet<string>,
  offered: ReadonlyMap<string, string>,
): string | undefined {
  for (const imp of loaded.prepared.info.imports) {
    if (imp.module !== EXTISM_USER || granted.has(imp.name)) continue
    const capability = offered.get(imp.name)
    return capability === undefined
      ? `it imports the host function ${imp.name}, which plugins of this kind cannot use`
      : `it imports ${imp.name}, which needs ${capability}, and that was not granted in the config`
  }
  return undefined
}

/** Names of the module's callable exports (functions `() -> i32` not starting with `__`). */
export function callableExports(loaded: LoadedWasm): ReadonlySet<string> {
  return new Set(
    loaded.prepared.info.exports.filter((e) =>
      e.kind === "function" && e.type !== undefined && e.type.params.length === 0 &&
      e.type.results.length === 1 && e.type.results[0] === "i32" && !e.name.startsWith("__")
    ).map((e) => e.name),
  )
}

/** How a plugin call ended, with the problem described in terms of the config. */
export type PluginCallResult =
  | { readonly _tag: "Ok"; readonly output: Uint8Array }
  | { readonly _tag: "GuestError"; readonly message: string }
  | { readonly _tag: "Trap"; readonly kind: TrapKind; readonly message: string }
  /** The input is larger than `max_input_bytes`; the guest did not run. */
  | { readonly _tag: "TooLarge"; readonly message: string }
  /** Every instance stayed busy until the deadline, or the plugin is stopped. */
  | { readonly _tag: "Busy"; readonly message: string }

/** What a {@link PluginPool} has done. */
export interface PluginPoolStats {
  readonly calls: number
  readonly failed: number
  readonly traps: number
  readonly instances: number
}

/** Options of {@link PluginPool}. */
export interface PluginPoolOptions {
  /** How messages name the plugin: `receptor "counter"`. */
  readonly name: string
  /** Where its limits are configured, for messages: `receptors.0.limits`. */
  readonly limitsPath: string
  readonly limits: PluginLimits
  readonly hostFunctions: Readonly<Record<string, UserHostFunction>>
  readonly logger?: KernelLogger | undefined
}

/**
 * Instances of one plugin: at most `limits.instances` at once, created on demand, reused while
 * healthy, dropped after a trap. Calls beyond the count wait for an instance within their
 * deadline.
 */
export class PluginPool {
  readonly #loaded: LoadedWasm
  readonly #options: PluginPoolOptions
  readonly #idle: Array<WasmPlugin> = []
  readonly #waiters: Array<(plugin: WasmPlugin | undefined) => void> = []
  #live = 0
  #closed = false
  #calls = 0
  #failed = 0
  #traps = 0

  constructor(loaded: LoadedWasm, options: PluginPoolOptions) {
    this.#loaded = loaded
    this.#options = options
  }

  /** Counters for health reports. */
  stats(): PluginPoolStats {
    return { calls: this.#calls, failed: this.#failed, traps: this.#traps, instances: this.#live }
  }

  /** Drops idle instances; running calls finish and their instances are dropped. */
  close(): void {
    this.#closed = true
    this.#live -= this.#idle.length
    this.#idle.length = 0
    for (const waiter of this.#waiters.splice(0)) waiter(undefined)
  }

  /** Calls export `name` with `input`; every way it can end is a value. */
  async call(name: string, input: Uint8Array): Promise<PluginCallResult> {
    const { limits, name: who, limitsPath } = this.#options
    this.#calls++
    if (input.length > limits.max_input_bytes) {
      this.#failed++
      return {
        _tag: "TooLarge",
        message:
          `${who}: the input is ${input.length} bytes, more than ${limitsPath}.max_input_bytes ${limits.max_input_bytes}`,
      }
    }
    const deadline = performance.now() + limits.call_timeout_ms
    const acquired = await this.#acquire(deadline)
    if (typeof acquired === "string") {
      this.#failed++
      return { _tag: "Busy", message: `${who}: ${acquired}` }
    }
    let result: CallResult
    try {
      result = await acquired.call(name, input, { fuel: BigInt(limits.fuel_per_call), deadline })
    } finally {
      this.#release(acquired)
    }
    switch (result._tag) {
      case "Ok":
        return { _tag: "Ok", output: result.output }
      case "GuestError":
        this.#failed++
        return { _tag: "GuestError", message: result.message }
      case "FunctionNotFound":
        this.#failed++
        return { _tag: "GuestError", message: `${who} has no export ${name}` }
      case "ShortCircuit":
        this.#failed++
        this.#traps++
        return { _tag: "Trap", kind: "host_error", message: `${who}: a host function stopped it` }
      case "Trap":
        this.#failed++
        this.#traps++
        return {
          _tag: "Trap",
          kind: result.kind,
          message: `${who} ${name}: ${
            describeTrap(result.kind, result.message, limitsPath, limits)
          }`,
        }
    }
  }

  async #acquire(deadline: number): Promise<WasmPlugin | string> {
    if (this.#closed) return "the plugin is stopped"
    const warm = this.#idle.pop()
    if (warm !== undefined) return warm
    if (this.#live < this.#options.limits.instances) {
      this.#live++
      const created = await WasmPlugin.create(
        this.#loaded.prepared.module,
        this.#loaded.prepared.info,
        {
          maxKernelBytes: this.#options.limits.max_kernel_mb * 2 ** 20,
          maxOutputBytes: this.#options.limits.max_output_bytes,
          hostFunctions: this.#options.hostFunctions,
          logger: this.#options.logger,
        },
      )
      if (created._tag === "Created") return created.plugin
      this.#live--
      return `cannot instantiate: ${created.message}`
    }
    return await new Promise<WasmPlugin | string>((resolve) => {
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter)
        if (at >= 0) this.#waiters.splice(at, 1)
        resolve(
          `all ${this.#options.limits.instances} instances stayed busy past the deadline (${this.#options.limitsPath}.instances)`,
        )
      }, Math.max(0, deadline - performance.now()))
      const waiter = (plugin: WasmPlugin | undefined) => {
        clearTimeout(timer)
        resolve(plugin ?? "the plugin is stopped")
      }
      this.#waiters.push(waiter)
    })
  }

  #release(plugin: WasmPlugin): void {
    if (plugin.poisoned || this.#closed) {
      this.#live--
      // A waiter gets a fresh instance slot.
      const waiter = this.#waiters.shift()
      if (waiter !== undefined && !this.#closed) {
        void this.#acquire(Number.POSITIVE_INFINITY).then((next) =>
          typeof next === "string" ? waiter(undefined) : waiter(next)
        )
      }
      return
    }
    plugin.clearVars()
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) waiter(plugin)
    else this.#idle.push(plugin)
  }
}

function describeTrap(
  kind: TrapKind,
  message: string,
  limitsPath: string,
  limits: PluginLimits,
): string {
  switch (kind) {
    case "fuel_exhausted":
      return `ran out of fuel (${limitsPath}.fuel_per_call ${limits.fuel_per_call})`
    case "deadline_exceeded":
      return `exceeded its deadline of ${limits.call_timeout_ms} ms (${limitsPath}.call_timeout_ms)`
    case "output_limit":
      return `returned more than ${limits.max_output_bytes} bytes (${limitsPath}.max_output_bytes)`
    case "memory_exhausted":
      return `ran out of memory (${limitsPath}.max_memory_mb ${limits.max_memory_mb}): ${message}`
    case "kernel_limit":
      return `allocated more kernel memory than ${limitsPath}.max_kernel_mb ${limits.max_kernel_mb}: ${message}`
    case "stack_overflow":
      return "overflowed the call stack (unbounded recursion?)"
    default:
      return `trapped: ${message}`
  }
}

/** Decodes one msgpack value from a plugin; the problem as text otherwise. */
export function decodePluginOutput(
  bytes: Uint8Array,
): { readonly value: unknown } | { readonly problem: string } {
  if (bytes.length === 0) return { problem: "it returned no output (expected one msgpack value)" }
  try {
    return { value: decodeUntrusted(bytes) }
  } catch (cause) {
    return { problem: `its output is not one msgpack value (${describeDecodeError(cause)})` }
  }
}
