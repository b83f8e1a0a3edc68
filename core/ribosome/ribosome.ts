/**
 * The `Ribosome`: runs guest functions (zome functions and callbacks) as metered Extism plugins,
 * synchronously, in the context a workflow gives it. It owns the warm instances (one per cell
 * and zome, least recently used evicted, discarded after any trap so a corrupted heap is never
 * reused) and the glue between the host function registry and the kernel: input decoding,
 * result envelopes, fuel charged per host call, and the `must_get_*` short-circuit. It decides
 * nothing about commits or authorisation; the workflows do.
 *
 * Synchronous on purpose: a zome call, with every host function and nested call inside it,
 * runs to completion on one thread (an Extism call in the foreground costs ~3 µs, in a worker
 * ~1-10 ms).
 *
 * @module
 */
import { Cause, Context, Effect, Exit, Layer } from "effect"
import { decodeUntrusted, describeDecodeError, encode } from "../codec/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { hashKey } from "../hash/mod.ts"
import { RibosomeStore, type Zome } from "../ribosome_store/mod.ts"
import type { FuelMeter, HostCallContext } from "./context.ts"
import {
  DEFAULT_HOST_FN_FUEL,
  HostFnError,
  type HostFnServices,
  invoke,
  UnresolvedDependency,
} from "./host_fn/host_fn.ts"
import { hostFns } from "./host_fn/registry.ts"
import type { LogLevel } from "./wasm/kernel.ts"
import {
  type KernelAccess,
  ShortCircuit,
  type TrapKind,
  type UserHostFunction,
  WasmPlugin,
} from "./wasm/wasm_plugin.ts"

/** Fuel charged per byte a host function reads from or writes to the guest. */
export const HOST_BYTE_FUEL = 20n

/** How a guest function call ended. */
export type GuestOutcome =
  | { readonly _tag: "Ok"; readonly output: Uint8Array; readonly fuelUsed: bigint }
  | { readonly _tag: "GuestError"; readonly message: string; readonly fuelUsed: bigint }
  | {
    readonly _tag: "Trap"
    readonly kind: TrapKind
    readonly message: string
    readonly fuelUsed: bigint
  }
  | {
    readonly _tag: "Unresolved"
    readonly hashes: ReadonlyArray<Uint8Array>
    readonly fuelUsed: bigint
  }
  | { readonly _tag: "FunctionNotFound"; readonly message: string; readonly fuelUsed: bigint }
  | { readonly _tag: "LoadError"; readonly message: string; readonly fuelUsed: bigint }

/** What the Ribosome offers. */
export interface RibosomeShape {
  /**
   * Runs `fn` of `ctx.zome` in `ctx.cell` with `input`, synchronously. `fuel` defaults to the
   * configured budget per call. Zome functions must return exactly one msgpack value.
   */
  readonly call: (
    ctx: HostCallContext,
    fn: string,
    input: Uint8Array,
    fuel?: bigint,
  ) => GuestOutcome
  /** True when the zome exports `fn` as a callable function. */
  readonly exports: (zome: Zome, fn: string) => boolean
  /** Drops the warm instances of a cell (when it stops). */
  readonly evictCell: (cellKey: string) => void
  /** Number of warm instances. */
  readonly instances: () => number
}

interface Slot {
  readonly plugin: WasmPlugin
  readonly stack: Array<HostCallContext>
}

const LEVEL_LOGGERS = {
  trace: Effect.logTrace,
  debug: Effect.logDebug,
  info: Effect.logInfo,
  warn: Effect.logWarning,
  error: Effect.logError,
} as const

/** The cell part of an instance key. */
export function cellKeyOf(ctx: HostCallContext): string {
  return hashKey(ctx.cell.cellId[0]) + hashKey(ctx.cell.cellId[1])
}

/** Builds the ribosome. */
export const makeRibosome = Effect.gen(function* () {
  const config = yield* ConductorConfig
  const store = yield* RibosomeStore
  const services = yield* Effect.context<HostFnServices>()
  const runSync = Effect.runSyncExitWith(services)
  const defaultFuel = BigInt(config.ribosome.fuel_per_call)
  const maxKernelBytes = config.ribosome.max_kernel_mb * 1024 * 1024
  const cacheSize = config.ribosome.instance_cache_size
  const slots = new Map<string, Slot>()

  const envelopeError = (access: KernelAccess, error: HostFnError) =>
    access.write(encode({ err: { kind: error.kind, message: error.detail } }))

  const hostFunctionsFor = (stack: Array<HostCallContext>): Record<string, UserHostFunction> => {
    const functions: Record<string, UserHostFunction> = {}
    for (const fn of hostFns) {
      functions[fn.name] = (access, offset) => {
        const ctx = stack[stack.length - 1]!
        access.chargeFuel(fn.fuel ?? DEFAULT_HOST_FN_FUEL)
        let raw: unknown = null
        if (offset !== 0n) {
          const bytes = access.read(offset)
          if (bytes !== undefined) access.chargeFuel(HOST_BYTE_FUEL * BigInt(bytes.length))
          if (bytes === undefined) {
            return envelopeError(
              access,
              new HostFnError({
                kind: "invalid_input",
                detail: `${fn.name}: the input offset is not a kernel block`,
              }),
            )
          }
          try {
            raw = decodeUntrusted(bytes)
          } catch (cause) {
            return envelopeError(
              access,
              new HostFnError({
                kind: "invalid_input",
                detail: `${fn.name}: the input is not msgpack (${describeDecodeError(cause)})`,
              }),
            )
          }
        }
        // Only nested calls need the caller's fuel: they run on the caller's remaining budget.
        const exit = runSync(
          invoke(fn, fn.name === "call_1" ? { ...ctx, meter: meterOf(access) } : ctx, raw),
        )
        if (Exit.isSuccess(exit)) {
          const output = encode({ ok: exit.value })
          access.chargeFuel(HOST_BYTE_FUEL * BigInt(output.length))
          return access.write(output)
        }
        const failure = Cause.findErrorOption(exit.cause)
        if (failure._tag === "Some") {
          const error = failure.value
          if (error instanceof UnresolvedDependency) {
            throw new ShortCircuit({ unresolved: [error.hash] })
          }
          return envelopeError(access, error)
        }
        // A defect is a conductor bug; the guest still gets a value it can handle.
        runSync(Effect.logError(`host function ${fn.name} failed`, exit.cause))
        return envelopeError(
          access,
          new HostFnError({ kind: "internal", detail: `${fn.name}: internal error` }),
        )
      }
    }
    return functions
  }

  const logFor = (stack: Array<HostCallContext>) => (level: LogLevel, message: string) => {
    const ctx = stack[stack.length - 1]
    runSync(
      LEVEL_LOGGERS[level](message).pipe(
        Effect.annotateLogs({ zome: ctx?.zome.name ?? "?", fn: ctx?.fnName ?? "?" }),
      ),
    )
  }

  const slotFor = (ctx: HostCallContext): Slot | GuestOutcome => {
    const key = `${cellKeyOf(ctx)}/${ctx.zome.name}`
    const warm = slots.get(key)
    if (warm !== undefined && !warm.plugin.poisoned) {
      // Least recently used order: move to the end.
      slots.delete(key)
      slots.set(key, warm)
      return warm
    }
    if (warm !== undefined) slots.delete(key)
    const loaded = Effect.runSyncExit(store.wasm(ctx.zome.wasmHash))
    if (Exit.isFailure(loaded)) {
      return {
        _tag: "LoadError",
        message: `zome ${ctx.zome.name}: ${Cause.squash(loaded.cause)}`,
        fuelUsed: 0n,
      }
    }
    const stack: Array<HostCallContext> = []
    const created = WasmPlugin.create(loaded.value.module, loaded.value.info, {
      maxKernelBytes,
      hostFunctions: hostFunctionsFor(stack),
      logger: logFor(stack),
      logLevel: config.log.level,
    })
    if (created._tag !== "Created") {
      return {
        _tag: "LoadError",
        message: `zome ${ctx.zome.name}: ${created.message}`,
        fuelUsed: 0n,
      }
    }
    const slot = { plugin: created.plugin, stack }
    slots.set(key, slot)
    while (slots.size > cacheSize) {
      const oldest = slots.entries().next().value
      if (oldest === undefined) break
      // An instance that is running (re-entrant call) must not be dropped.
      if (oldest[1].stack.length > 0) break
      slots.delete(oldest[0])
    }
    return slot
  }

  const call = (
    ctx: HostCallContext,
    fn: string,
    input: Uint8Array,
    fuel: bigint = defaultFuel,
  ): GuestOutcome => {
    const slot = slotFor(ctx)
    if (!("plugin" in slot)) return slot
    const { plugin, stack } = slot
    stack.push(ctx)
    let result
    try {
      result = plugin.call(fn, input, fuel)
    } finally {
      stack.pop()
    }
    switch (result._tag) {
      case "Ok": {
        if (ctx.kind === "zome_call") {
          try {
            decodeUntrusted(result.output)
          } catch (cause) {
            return {
              _tag: "GuestError",
              message: `${ctx.zome.name}/${fn} returned bytes that are not one msgpack value (${
                describeDecodeError(cause)
              })`,
              fuelUsed: result.fuelUsed,
            }
          }
        }
        return { _tag: "Ok", output: result.output, fuelUsed: result.fuelUsed }
      }
      case "GuestError":
        return { _tag: "GuestError", message: result.message, fuelUsed: result.fuelUsed }
      case "Trap":
        return {
          _tag: "Trap",
          kind: result.kind,
          message: describeTrap(ctx, fn, result.kind, result.message, fuel),
          fuelUsed: result.fuelUsed,
        }
      case "ShortCircuit":
        return {
          _tag: "Unresolved",
          hashes: (result.value as { unresolved: Array<Uint8Array> }).unresolved,
          fuelUsed: result.fuelUsed,
        }
      case "FunctionNotFound":
        return {
          _tag: "FunctionNotFound",
          message: `zome ${ctx.zome.name} has no function ${fn}`,
          fuelUsed: 0n,
        }
    }
  }

  return Ribosome.of({
    call,
    exports: (zome, fn) => zome.exports.includes(fn) && !fn.startsWith("__"),
    evictCell: (cellKey) => {
      for (const key of [...slots.keys()]) if (key.startsWith(`${cellKey}/`)) slots.delete(key)
    },
    instances: () => slots.size,
  })
})

function meterOf(access: KernelAccess): FuelMeter {
  return {
    remaining: () => access.fuelRemaining() ?? 0n,
    charge: (amount) => access.chargeFuel(amount),
  }
}

function describeTrap(
  ctx: HostCallContext,
  fn: string,
  kind: TrapKind,
  message: string,
  fuel: bigint,
): string {
  const where = `${ctx.zome.name}/${fn}`
  switch (kind) {
    case "fuel_exhausted":
      return `${where} ran out of fuel (budget ${fuel} units; see ribosome.fuel_per_call)`
    case "memory_exhausted":
      return `${where} ran out of memory (limit ribosome.max_memory_mb): ${message}`
    case "kernel_limit":
      return `${where} allocated more kernel memory than allowed (ribosome.max_kernel_mb): ${message}`
    case "stack_overflow":
      return `${where} overflowed the call stack (unbounded recursion?)`
    default:
      return `${where} trapped: ${message}`
  }
}

/** Runs guest code. */
export class Ribosome
  extends Context.Service<Ribosome, RibosomeShape>()("conductor/ribosome/Ribosome") {
  static readonly layer = Layer.effect(Ribosome, makeRibosome)
}
