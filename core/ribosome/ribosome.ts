/**
 * The `Ribosome`: runs guest functions (zome functions and callbacks) as metered Extism plugins
 * in the context a workflow gives it. It owns the warm instances (a pool per cell and zome: an
 * instance runs one call at a time, so concurrent calls of one zome get their own instances;
 * idle ones are dropped after `ribosome.instance_idle_ms`, when the idle count passes
 * `ribosome.instance_cache_size` or the linear memory of all instances passes
 * `ribosome.instance_memory_mb`, least recently used first; any trap discards an instance so a
 * corrupted heap is never reused) and the glue between the host function registry and the
 * kernel: input decoding, result envelopes, fuel charged per host call, the per-call wall-clock
 * deadline, and the `must_get_*` short-circuit. It decides nothing about commits or
 * authorisation; the workflows do.
 *
 * Calls are asynchronous (JSPI, see `wasm_plugin.ts`): a host function's Effect may wait (a
 * network `get`, a nested `call_1`) without blocking other calls, and a busy guest yields to the
 * event loop after every fuel slice. A host function whose Effect completes synchronously (the
 * common case) does not suspend the guest at all.
 *
 * Calls use several cores through guest workers (`ribosome.workers`, `worker/`): the ribosome
 * remembers each cell's zome functions' fuel use, and a function whose calls average at least
 * `ribosome.worker_min_fuel` runs its next calls in an instance in a worker (one worker per cell,
 * the least loaded, so busy cells land on different workers). Light calls (almost all) stay here
 * and cost no thread hop. A worker instance is pooled, capped and evicted like a local one; its
 * guest's host function calls come back to this thread (the same host functions, contexts and
 * fuel), and fuel, deadline, output, kernel and memory limits are enforced in the worker by the
 * same `WasmPlugin`. Synchronous (install-time) calls always run here.
 *
 * @module
 */
import { Cause, Context, Effect, Exit, type Fiber, Layer } from "effect"
import { decodeUntrusted, describeDecodeError, encode } from "../codec/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { hashKey } from "../hash/mod.ts"
import { RibosomeStore, type Zome } from "../ribosome_store/mod.ts"
import type { FuelMeter, HostCallContext } from "./context.ts"
import {
  type AnyHostFn,
  DEFAULT_HOST_FN_FUEL,
  HostFnError,
  type HostFnServices,
  invoke,
  UnresolvedDependency,
} from "./host_fn/host_fn.ts"
import { HostFns } from "./host_fn/registry.ts"
import type { LogLevel } from "./wasm/kernel.ts"
import {
  type CallResult,
  DeadlineExceeded,
  type KernelAccess,
  ShortCircuit,
  type TrapKind,
  type UserHostFunction,
  WasmPlugin,
} from "./wasm/wasm_plugin.ts"
import {
  guestWorkerUrl,
  type RemotePlugin,
  WorkerPool,
  type WorkerPoolStats,
} from "./worker/pool.ts"

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
   * Runs `fn` of `ctx.zome` in `ctx.cell` with `input`. `fuel` defaults to the configured
   * budget per call; the wall-clock deadline is `ctx.deadline`, else `ribosome.call_timeout_ms`
   * from now. Zome functions must return exactly one msgpack value. Every way the guest can
   * end is an outcome; the Effect itself does not fail.
   */
  readonly call: (
    ctx: HostCallContext,
    fn: string,
    input: Uint8Array,
    fuel?: bigint,
  ) => Effect.Effect<GuestOutcome>
  /** The deadline (`performance.now()` value) a new top-level call started now gets. */
  readonly deadlineFromNow: () => number
  /** True when the zome exports `fn` as a callable function. */
  readonly exports: (zome: Zome, fn: string) => boolean
  /** Drops the warm instances of a cell (when it stops); running ones are dropped when done. */
  readonly evictCell: (cellKey: string) => void
  /** Number of live instances (idle and running). */
  readonly instances: () => number
  /** What the instance pool holds and has dropped. */
  readonly stats: () => InstanceStats
}

/** A snapshot of the instance pool. */
export interface InstanceStats {
  /** Live instances, idle and running. */
  readonly instances: number
  /** Idle (warm) instances. */
  readonly idle: number
  /** Linear memory of all live instances, in bytes. */
  readonly memoryBytes: number
  /** Instances created since start. */
  readonly created: number
  /** Idle instances dropped since start (idle timeout, count cap, memory cap, cell stop). */
  readonly evicted: number
  /** The guest worker pool; undefined when `ribosome.workers` is 0. */
  readonly workers: WorkerPoolStats | undefined
  /** Calls stopped on this thread after `worker_min_fuel` with no host call, re-run in a worker. */
  readonly preempted: number
}

/**
 * The script guest workers run (`worker/worker.ts`). A reference so that a test can run a worker
 * that fails on purpose.
 */
export const GuestWorkerScript: Context.Reference<URL> = Context.Reference(
  "conductor/ribosome/GuestWorkerScript",
  { defaultValue: guestWorkerUrl },
)

/** Weight of the latest call in a zome function's smoothed fuel use. */
const ROUTE_SMOOTHING = 0.3

/** A cell's key and the smoothed fuel use of its zome functions. */
interface CellRoutes {
  readonly key: string
  readonly routes: Map<string, number>
  /** Instance keys by zome name and mode, built once (a long string per call otherwise). */
  readonly instanceKeys: Map<string, string>
}
/** Bound on the remembered fuel use of one cell's zome functions. */
const MAX_ROUTES = 1024

/** One live instance of a zome. */
interface Instance {
  readonly key: string
  /** Local (this thread), or in a guest worker (`ribosome.workers`). */
  readonly plugin: WasmPlugin | RemotePlugin
  /** The context of the call running in it (host functions read it). */
  current: HostCallContext | undefined
  /** Host function calls made by its guest so far (a call that made none may be re-run). */
  hostCalls: number
  /** `performance.now()` when it was last released. */
  lastUsed: number
  /** Set when its cell stopped while it ran: it is discarded when the call ends. */
  dropped: boolean
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
  const hostFns = yield* HostFns
  const runFork = Effect.runForkWith(services)
  const defaultFuel = BigInt(config.ribosome.fuel_per_call)
  const sliceFuel = BigInt(config.ribosome.fuel_per_slice)
  const timeoutMs = config.ribosome.call_timeout_ms
  const maxOutputBytes = config.ribosome.max_output_bytes
  const maxKernelBytes = config.ribosome.max_kernel_mb * 1024 * 1024
  const maxIdle = config.ribosome.instance_cache_size
  const idleMs = config.ribosome.instance_idle_ms
  const memoryCap = config.ribosome.instance_memory_mb * 1024 * 1024
  const minWorkerFuel = config.ribosome.worker_min_fuel
  const sliceFuelNumber = Number(sliceFuel)
  /** Calls stopped on this thread and re-run in a worker (`preemptWhenHeavy`). */
  let preempted = 0
  const workerScript = yield* GuestWorkerScript
  const pool = config.ribosome.workers === 0 ? undefined : yield* Effect.acquireRelease(
    Effect.sync(() => new WorkerPool({ size: config.ribosome.workers, url: workerScript })),
    (pool) => Effect.sync(() => pool.close()),
  )
  /**
   * Per cell: its key and the smoothed fuel use of its zome functions (`zome/fn`), which sends
   * heavy functions to workers. Found through the cell object, so a call builds no long key.
   */
  const cells = new WeakMap<object, CellRoutes>()
  const routesByKey = new Map<string, CellRoutes>()
  const cellOf = (ctx: HostCallContext): CellRoutes => {
    const known = cells.get(ctx.cell)
    if (known !== undefined) return known
    const key = cellKeyOf(ctx)
    const found = routesByKey.get(key) ?? { key, routes: new Map(), instanceKeys: new Map() }
    if (pool !== undefined) routesByKey.set(key, found)
    cells.set(ctx.cell, found)
    return found
  }

  /** Idle instances per cell and zome, most recently used last. */
  const idle = new Map<string, Array<Instance>>()
  /** Every idle instance, least recently released first. */
  const idleLru = new Set<Instance>()
  const live = new Set<Instance>()
  let created = 0
  let evicted = 0

  const envelopeError = (access: KernelAccess, error: HostFnError) =>
    access.write(encode({ err: { kind: error.kind, message: error.detail } }))

  /** Turns a host function's exit into the guest's output offset (or a short circuit). */
  const finish = (
    fn: AnyHostFn,
    access: KernelAccess,
    exit: Exit.Exit<unknown, HostFnError | UnresolvedDependency>,
  ): bigint => {
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
    runFork(Effect.logError(`host function ${fn.name} failed`, exit.cause))
    return envelopeError(
      access,
      new HostFnError({ kind: "internal", detail: `${fn.name}: internal error` }),
    )
  }

  /**
   * Waits for a host function that did not complete synchronously, racing the call's deadline:
   * past it the host function is interrupted and the guest traps with `deadline_exceeded`.
   */
  const awaitHostFn = (
    fn: AnyHostFn,
    access: KernelAccess,
    fiber: Fiber.Fiber<unknown, HostFnError | UnresolvedDependency>,
    deadline: number,
  ): Promise<bigint> =>
    new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        fiber.interruptUnsafe()
        reject(new DeadlineExceeded(performance.now() - deadline))
      }, Math.max(0, deadline - performance.now()))
      fiber.addObserver((exit) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        try {
          resolve(finish(fn, access, exit))
        } catch (e) {
          reject(e)
        }
      })
    })

  const hostFunctionsFor = (
    instance: { current: HostCallContext | undefined; hostCalls: number },
  ) => {
    const functions: Record<string, UserHostFunction> = {}
    for (const fn of hostFns.values()) {
      functions[fn.name] = (access, offset) => {
        const ctx = instance.current!
        instance.hostCalls++
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
        const fiber = runFork(
          invoke(fn, fn.name === "call_1" ? { ...ctx, meter: meterOf(access) } : ctx, raw),
        )
        // Most host functions complete synchronously: then the guest does not suspend at all.
        const exit = fiber.pollUnsafe()
        if (exit !== undefined) return finish(fn, access, exit)
        return awaitHostFn(fn, access, fiber, ctx.deadline ?? performance.now() + timeoutMs)
      }
    }
    return functions
  }

  const logFor =
    (instance: { current: HostCallContext | undefined }) => (level: LogLevel, message: string) => {
      const ctx = instance.current
      runFork(
        LEVEL_LOGGERS[level](message).pipe(
          Effect.annotateLogs({ zome: ctx?.zome.name ?? "?", fn: ctx?.fnName ?? "?" }),
        ),
      )
    }

  const forget = (instance: Instance) => {
    idleLru.delete(instance)
    if (live.delete(instance) && !(instance.plugin instanceof WasmPlugin)) {
      instance.plugin.dispose()
    }
    const list = idle.get(instance.key)
    if (list === undefined) return
    const at = list.indexOf(instance)
    if (at >= 0) list.splice(at, 1)
    if (list.length === 0) idle.delete(instance.key)
  }

  const evict = (instance: Instance) => {
    forget(instance)
    evicted++
  }

  const memoryBytes = () => {
    let total = 0
    for (const instance of live) total += instance.plugin.memoryBytes
    return total
  }

  /** Drops idle instances past the idle timeout, then past the count and memory caps (LRU). */
  const trim = (now: number) => {
    for (const instance of idleLru) {
      if (now - instance.lastUsed < idleMs) break
      evict(instance)
    }
    while (idleLru.size > maxIdle) evict(idleLru.values().next().value!)
    if (idleLru.size === 0) return
    let total = memoryBytes()
    for (const instance of idleLru) {
      if (total <= memoryCap) break
      total -= instance.plugin.memoryBytes
      evict(instance)
    }
  }

  const instanceKey = (cell: CellRoutes, zome: string, mode: "#sync" | "@worker" | "") => {
    const name = zome + mode
    let key = cell.instanceKeys.get(name)
    if (key === undefined) {
      key = `${cell.key}/${name}`
      // Zome names come from the installed DNA: bounded, but cleared past the routes' bound.
      if (cell.instanceKeys.size >= MAX_ROUTES) cell.instanceKeys.clear()
      cell.instanceKeys.set(name, key)
    }
    return key
  }

  const acquire = (
    ctx: HostCallContext,
    cell: CellRoutes,
    remote: boolean,
  ): Effect.Effect<Instance | GuestOutcome> =>
    Effect.suspend(() => {
      const cellKey = cell.key
      const synchronous = ctx.synchronous === true
      const key = instanceKey(cell, ctx.zome.name, synchronous ? "#sync" : remote ? "@worker" : "")
      const list = idle.get(key)
      let warm = list?.pop()
      // An idle instance whose worker died is poisoned: drop it and take the next one.
      while (warm !== undefined && warm.plugin.poisoned) {
        evict(warm)
        warm = list?.pop()
      }
      if (warm !== undefined) {
        if (list!.length === 0) idle.delete(key)
        idleLru.delete(warm)
        return Effect.succeed(warm)
      }
      return Effect.gen(function* () {
        const loaded = yield* Effect.exit(store.wasm(ctx.zome.wasmHash))
        if (Exit.isFailure(loaded)) {
          return {
            _tag: "LoadError",
            message: `zome ${ctx.zome.name}: ${Cause.squash(loaded.cause)}`,
            fuelUsed: 0n,
          } satisfies GuestOutcome
        }
        const holder: { current: HostCallContext | undefined; hostCalls: number } = {
          current: undefined,
          hostCalls: 0,
        }
        const { module, info } = loaded.value
        const options = {
          maxKernelBytes,
          maxOutputBytes,
          sliceFuel,
          hostFunctions: hostFunctionsFor(holder),
          logger: logFor(holder),
          logLevel: config.log.level,
        }
        const result = synchronous
          ? WasmPlugin.createSync(module, info, options)
          : remote && pool !== undefined
          ? yield* Effect.promise((signal) =>
            pool.create(cellKey, module, info, options).then((outcome) => {
              // Nobody takes an instance created for an interrupted call: free it in its worker.
              if (signal.aborted && outcome._tag === "Created") outcome.plugin.dispose()
              return outcome
            })
          )
          : yield* Effect.promise(() => WasmPlugin.create(module, info, options))
        if (result._tag !== "Created") {
          return {
            _tag: "LoadError",
            message: `zome ${ctx.zome.name}: ${result.message}`,
            fuelUsed: 0n,
          } satisfies GuestOutcome
        }
        created++
        const instance: Instance = Object.assign(holder, {
          key,
          plugin: result.plugin,
          lastUsed: performance.now(),
          dropped: false,
        })
        live.add(instance)
        return instance
      })
    })

  const release = (instance: Instance) => {
    instance.current = undefined
    // Synchronous instances serve install-time callbacks only: not worth keeping warm.
    if (instance.plugin.poisoned || instance.dropped || instance.key.endsWith("#sync")) {
      forget(instance)
      return
    }
    const now = performance.now()
    instance.lastUsed = now
    const list = idle.get(instance.key)
    if (list === undefined) idle.set(instance.key, [instance])
    else list.push(instance)
    idleLru.add(instance)
    trim(now)
  }

  // Idle instances expire even when no call comes to trim them.
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.sleep(Math.max(10, Math.min(idleMs, 10_000))).pipe(
        Effect.andThen(Effect.sync(() => {
          const now = performance.now()
          trim(now)
          pool?.retireIdle(now, idleMs)
        })),
      ),
    ),
  )

  /** Remembers how much fuel a call of `route` used (smoothed), for {@link inWorker}. */
  const record = (routes: Map<string, number>, route: string, result: CallResult) => {
    if (pool === undefined || !("fuelUsed" in result)) return
    if (result._tag === "Trap" && result.kind === "worker_died") return
    const used = Number(result.fuelUsed)
    const before = routes.get(route)
    if (before === undefined && routes.size >= MAX_ROUTES) routes.clear()
    routes.set(
      route,
      before === undefined ? used : before + (used - before) * ROUTE_SMOOTHING,
    )
  }

  /** True when a call of `route` runs in a worker: its recent calls were heavy. */
  const inWorker = (routes: Map<string, number>, route: string): boolean => {
    if (pool === undefined) return false
    if (minWorkerFuel === 0) return true
    const used = routes.get(route)
    return used !== undefined && used >= minWorkerFuel
  }

  const call = (
    ctx: HostCallContext,
    fn: string,
    input: Uint8Array,
    fuel: bigint = defaultFuel,
  ): Effect.Effect<GuestOutcome> =>
    Effect.suspend(() => {
      const cell = cellOf(ctx)
      const synchronous = ctx.synchronous === true
      const route = `${ctx.zome.name}/${fn}`
      const remote = !synchronous && inWorker(cell.routes, route)
      return Effect.flatMap(
        acquire(ctx, cell, remote),
        (acquired) =>
          "plugin" in acquired
            ? runIn(acquired, ctx, fn, input, fuel, cell, route, remote)
            : Effect.succeed(acquired),
      )
    })

  /** Runs the call in an instance it acquired (plain callbacks: no generator per call). */
  const runIn = (
    instance: Instance,
    ctx: HostCallContext,
    fn: string,
    input: Uint8Array,
    fuel: bigint,
    cell: CellRoutes,
    route: string,
    remote: boolean,
  ): Effect.Effect<GuestOutcome> => {
    const deadline = ctx.deadline ?? performance.now() + timeoutMs
    instance.current = ctx.deadline === undefined ? { ...ctx, deadline } : ctx
    const synchronous = ctx.synchronous === true
    const preempt = remote || synchronous || pool === undefined || minWorkerFuel === 0
      ? undefined
      : preemptWhenHeavy(instance)
    const limits = { fuel, deadline, preempt }
    const plugin = instance.plugin
    if (synchronous && plugin instanceof WasmPlugin) {
      try {
        return Effect.succeed(outcomeOf(ctx, fn, plugin.callSync(fn, input, limits), fuel))
      } finally {
        release(instance)
      }
    }
    // Released when the guest has really stopped, even if this fiber is interrupted first.
    return Effect.flatMap(
      Effect.promise(() => plugin.call(fn, input, limits).finally(() => release(instance))),
      (result) => {
        if (result._tag === "Trap" && result.kind === "preempted") {
          // Heavy and pure so far: the next calls of `route`, and this one again, run in a worker.
          cell.routes.set(route, Math.max(Number(result.fuelUsed), minWorkerFuel))
          preempted++
          return call({ ...ctx, deadline }, fn, input, fuel)
        }
        record(cell.routes, route, result)
        return Effect.succeed(outcomeOf(ctx, fn, result, fuel))
      },
    )
  }

  /**
   * The `preempt` of a call on this thread: true once it has used `worker_min_fuel` without
   * calling any host function. Such a call has had no effect outside its own instance (a guest
   * is deterministic; its writes are committed only after it returns), so it can stop and run
   * again in a worker, off the thread that serves the interfaces. A call that has called a host
   * function runs to its end here; its fuel use then sends its function's next calls to a worker.
   */
  const preemptWhenHeavy = (instance: Instance) => {
    const before = instance.hostCalls
    let used = 0
    return () => {
      used += sliceFuelNumber
      return used >= minWorkerFuel && instance.hostCalls === before
    }
  }

  const outcomeOf = (
    ctx: HostCallContext,
    fn: string,
    result: CallResult,
    fuel: bigint,
  ): GuestOutcome => {
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
          message: describeTrap(ctx, fn, result.kind, result.message, {
            fuel,
            timeoutMs,
            maxOutputBytes,
          }),
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
    deadlineFromNow: () => performance.now() + timeoutMs,
    exports: (zome, fn) => zome.exports.includes(fn) && !fn.startsWith("__"),
    evictCell: (cellKey) => {
      pool?.forgetCell(cellKey)
      routesByKey.get(cellKey)?.routes.clear()
      routesByKey.delete(cellKey)
      for (const instance of [...live]) {
        if (!instance.key.startsWith(`${cellKey}/`)) continue
        if (instance.current === undefined) evict(instance)
        else instance.dropped = true
      }
    },
    instances: () => live.size,
    stats: () => ({
      instances: live.size,
      idle: idleLru.size,
      memoryBytes: memoryBytes(),
      created,
      evicted,
      preempted,
      workers: pool?.stats(),
    }),
  })
})

function meterOf(access: KernelAccess): FuelMeter {
  return {
    remaining: () => access.fuelRemaining() ?? 0n,
    charge: (amount) => {
      try {
        access.chargeFuel(amount)
      } catch {
        // The budget is spent: the guest traps with fuel_exhausted at its next fuel check.
      }
    },
  }
}

/** The limits a trap message may name. */
interface Limits {
  readonly fuel: bigint
  readonly timeoutMs: number
  readonly maxOutputBytes: number
}

function describeTrap(
  ctx: HostCallContext,
  fn: string,
  kind: TrapKind,
  message: string,
  limits: Limits,
): string {
  const where = `${ctx.zome.name}/${fn}`
  switch (kind) {
    case "fuel_exhausted":
      return `${where} ran out of fuel: it used its budget of ${limits.fuel} units (ribosome.fuel_per_call)`
    case "deadline_exceeded":
      return `${where} exceeded its wall-clock deadline of ${limits.timeoutMs} ms (ribosome.call_timeout_ms)`
    case "output_limit":
      return `${where} returned more than the output limit of ${limits.maxOutputBytes} bytes (ribosome.max_output_bytes)`
    case "memory_exhausted":
      return `${where} ran out of memory (limit ribosome.max_memory_mb): ${message}`
    case "kernel_limit":
      return `${where} allocated more kernel memory than allowed (ribosome.max_kernel_mb): ${message}`
    case "stack_overflow":
      return `${where} overflowed the call stack (unbounded recursion?)`
    case "worker_died":
      return `${where} did not complete: ${message} (ribosome.workers); nothing it wrote was committed`
    default:
      return `${where} trapped: ${message}`
  }
}

/** Runs guest code. */
export class Ribosome
  extends Context.Service<Ribosome, RibosomeShape>()("conductor/ribosome/Ribosome") {
  static readonly layer = Layer.effect(Ribosome, makeRibosome)
}
