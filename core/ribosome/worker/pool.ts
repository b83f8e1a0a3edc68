/**
 * The guest worker pool (`ribosome.workers`): worker threads that run zome instances, so that
 * calls of different cells use several cores. Each cell is assigned to one worker when its
 * first instance is created there (the least loaded; sticky until the cell stops), so one cell's
 * instances share a worker and two busy cells land on two workers.
 *
 * A {@link RemotePlugin} is an instance living in a worker. It behaves as a `WasmPlugin` does for
 * the ribosome (`call`, `poisoned`, `memoryBytes`) and serves the guest's host function calls on
 * the main thread with the very host functions a local instance would get: each call arrives as
 * a message with its input block, runs against a stand-in {@link KernelAccess} that records the
 * output and the fuel charged, and goes back as a {@link HostReply} that the worker applies inside
 * the guest (same fuel, same traps, same short circuits).
 *
 * A worker that dies (an uncaught error: it reports it and closes) or stops answering (no result
 * `watchdogGraceMs` past a call's deadline, although the fuel meter makes a worker check its
 * deadline every slice) is terminated; its calls in flight end with a `worker_died` trap, its
 * instances are poisoned (discarded on release), and the next call of its cells starts a new
 * worker. Nothing a call wrote is committed before its guest returns, so a lost call loses only
 * itself.
 *
 * @module
 */
import type { WasmModuleInfo } from "../../wasm/mod.ts"
import {
  type CallLimits,
  type CallResult,
  type CallTrap,
  DeadlineExceeded,
  type KernelAccess,
  type PluginInstantiateError,
  type PluginLinkError,
  ShortCircuit,
  type WasmPluginOptions,
} from "../wasm/wasm_plugin.ts"
import type { FromWorker, HostReply, RemoteOptions, ToWorker } from "./protocol.ts"
import { GUEST_WORKER_NAME } from "./worker.ts"

/**
 * The worker script: `worker_main.ts` when running from source; in the bundle (`deno task
 * bundle`) and the executable, the main module (`dist/main.js`), whose entry point starts a guest
 * worker when the thread is named as one (`isGuestWorker`). Not this module's own URL there: the
 * bundle is split into chunks, and this code lives in a chunk that starts nothing when loaded.
 */
export const GUEST_WORKER_URL: URL = import.meta.url.endsWith("/pool.ts")
  ? new URL("./worker_main.ts", import.meta.url)
  // `Deno.mainModule` is undefined inside a worker, which imports this chunk too but starts none.
  : new URL((Deno.mainModule as string | undefined) ?? import.meta.url)

/** How long a worker may take to answer an instance creation before it is taken for dead, ms. */
const CREATE_TIMEOUT_MS = 30_000

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Number of workers (at least 1). */
  readonly size: number
  /** The worker script. @default GUEST_WORKER_URL */
  readonly url?: URL | undefined
  /**
   * How long past a call's deadline a worker may stay silent before it is taken for wedged and
   * terminated, in ms. @default 10000
   */
  readonly watchdogGraceMs?: number | undefined
}

/** A snapshot of the pool. */
export interface WorkerPoolStats {
  /** Workers running now. */
  readonly running: number
  /** Workers started since the pool was made. */
  readonly started: number
  /** Workers that died or were terminated as wedged. */
  readonly died: number
  /** Workers stopped because they held no instance for the idle time. */
  readonly retired: number
  /** Calls in flight in workers. */
  readonly inFlight: number
}

/** Thrown by the stand-in kernel access when a host function charges past the call's fuel. */
class RemoteFuelExhausted extends Error {
  constructor() {
    super("fuel exhausted")
    this.name = "RemoteFuelExhausted"
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function diedTrap(reason: string): CallTrap {
  return {
    _tag: "Trap",
    kind: "worker_died",
    message: reason,
    fuelExhausted: false,
    memoryExhausted: false,
    fuelUsed: 0n,
  }
}

interface PendingCall {
  readonly plugin: RemotePlugin
  readonly resolve: (result: CallResult) => void
  readonly timer: ReturnType<typeof setTimeout> | undefined
}

type CreateOutcome =
  | { readonly _tag: "Created"; readonly plugin: RemotePlugin }
  | PluginLinkError
  | PluginInstantiateError

/** One worker thread and what is in flight in it. */
class GuestWorker {
  readonly #worker: Worker
  readonly #graceMs: number
  readonly #onDeath: (worker: GuestWorker, counted: boolean) => void
  readonly #instances = new Map<number, RemotePlugin>()
  readonly #creates = new Map<
    number,
    { readonly plugin: RemotePlugin; readonly resolve: (outcome: CreateOutcome) => void }
  >()
  readonly #calls = new Map<number, PendingCall>()
  #nextCall = 1
  /** `performance.now()` when it last started or finished something. */
  #lastActive = performance.now()
  /** Why it died; undefined while it runs. */
  dead: string | undefined

  constructor(
    url: URL,
    name: string,
    graceMs: number,
    onDeath: (worker: GuestWorker, counted: boolean) => void,
  ) {
    this.#graceMs = graceMs
    this.#onDeath = onDeath
    this.#worker = new Worker(url, { type: "module", name })
    this.#worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
      this.#receive(event.data)
    })
    this.#worker.addEventListener("error", (event) => {
      event.preventDefault()
      this.die(`the guest worker failed: ${event.message}`)
    })
    this.#worker.addEventListener("messageerror", () => {
      this.die("the guest worker sent a message that could not be read")
    })
  }

  get inFlight(): number {
    return this.#calls.size
  }

  /** How long it has held no instance and run nothing, in ms (0 while it holds or runs any). */
  idleFor(now: number): number {
    if (this.#instances.size > 0 || this.#calls.size > 0 || this.#creates.size > 0) return 0
    return now - this.#lastActive
  }

  #post(message: ToWorker): void {
    if (this.dead === undefined) this.#worker.postMessage(message)
  }

  create(
    plugin: RemotePlugin,
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    options: RemoteOptions,
  ): Promise<CreateOutcome> {
    if (this.dead !== undefined) {
      return Promise.resolve({
        _tag: "InstantiateError",
        message: this.dead,
        fuelExhausted: false,
      })
    }
    this.#lastActive = performance.now()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.die(`the guest worker did not create an instance within ${CREATE_TIMEOUT_MS} ms`)
      }, CREATE_TIMEOUT_MS)
      this.#creates.set(plugin.id, {
        plugin,
        resolve: (outcome) => {
          clearTimeout(timer)
          resolve(outcome)
        },
      })
      this.#post({ t: "create", instance: plugin.id, module, info, options })
    })
  }

  call(plugin: RemotePlugin, fn: string, input: Uint8Array, limits: CallLimits) {
    if (this.dead !== undefined) return Promise.resolve(diedTrap(this.dead))
    const id = this.#nextCall++
    this.#lastActive = performance.now()
    const deadline = limits.deadline
    return new Promise<CallResult>((resolve) => {
      const timer = deadline === undefined ? undefined : setTimeout(() => {
        this.die(
          `the guest worker did not answer within ${this.#graceMs} ms past the call's deadline`,
        )
      }, Math.max(0, deadline - performance.now()) + this.#graceMs)
      this.#calls.set(id, { plugin, resolve, timer })
      this.#post({
        t: "call",
        call: id,
        instance: plugin.id,
        fn,
        input,
        fuel: limits.fuel,
        deadline: deadline === undefined ? undefined : performance.timeOrigin + deadline,
      })
    })
  }

  drop(plugin: RemotePlugin): void {
    this.#lastActive = performance.now()
    this.#instances.delete(plugin.id)
    this.#post({ t: "drop", instance: plugin.id })
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case "ready":
        return
      case "created": {
        const pending = this.#creates.get(message.instance)
        if (pending === undefined) return
        this.#creates.delete(message.instance)
        if (message.error !== undefined) {
          pending.resolve(
            message.error._tag === "LinkError"
              ? { _tag: "LinkError", message: message.error.message }
              : { _tag: "InstantiateError", message: message.error.message, fuelExhausted: false },
          )
          return
        }
        pending.plugin.memoryBytes = message.memoryBytes
        this.#instances.set(message.instance, pending.plugin)
        pending.resolve({ _tag: "Created", plugin: pending.plugin })
        return
      }
      case "done": {
        const pending = this.#calls.get(message.call)
        if (pending === undefined) return
        this.#calls.delete(message.call)
        this.#lastActive = performance.now()
        if (pending.timer !== undefined) clearTimeout(pending.timer)
        pending.plugin.memoryBytes = message.memoryBytes
        if (message.poisoned) pending.plugin.poison()
        pending.resolve(message.result)
        return
      }
      case "host": {
        const pending = this.#calls.get(message.call)
        if (pending === undefined) return
        const reply = (answer: HostReply) =>
          this.#post({ t: "host", call: message.call, host: message.host, reply: answer })
        pending.plugin.serveHost(message, reply)
        return
      }
      case "log":
        this.#instances.get(message.instance)?.log(message.level, message.message)
        return
      case "fatal":
        this.die(message.message)
        return
    }
  }

  /**
   * Terminates the worker and fails everything in flight in it (once); `counted` is false when
   * it is stopped on purpose (pool shutdown, idle).
   */
  die(reason: string, counted = true): void {
    if (this.dead !== undefined) return
    this.dead = reason
    this.#worker.terminate()
    for (const pending of this.#calls.values()) {
      if (pending.timer !== undefined) clearTimeout(pending.timer)
      pending.plugin.poison()
      pending.resolve(diedTrap(reason))
    }
    this.#calls.clear()
    for (const pending of this.#creates.values()) {
      pending.resolve({ _tag: "InstantiateError", message: reason, fuelExhausted: false })
    }
    this.#creates.clear()
    for (const plugin of this.#instances.values()) plugin.poison()
    this.#instances.clear()
    this.#onDeath(this, counted)
  }
}

/**
 * A zome instance that lives in a worker. Made by {@link WorkerPool.create}; called like a
 * `WasmPlugin`.
 */
export class RemotePlugin {
  /** Bytes of linear memory the instance held after its last call. */
  memoryBytes = 0
  #poisoned = false
  readonly #worker: GuestWorker
  readonly #options: WasmPluginOptions

  constructor(readonly id: number, worker: GuestWorker, options: WasmPluginOptions) {
    this.#worker = worker
    this.#options = options
  }

  /** True after a trap or short circuit, or once its worker died: the owner discards it. */
  get poisoned(): boolean {
    return this.#poisoned
  }

  /** Marks the instance as unusable. */
  poison(): void {
    this.#poisoned = true
  }

  /** Runs export `name` in the worker within `limits`; every ending is a {@link CallResult}. */
  call(name: string, input: Uint8Array, limits: CallLimits): Promise<CallResult> {
    if (this.#poisoned) {
      return Promise.resolve({
        _tag: "Trap",
        kind: "poisoned",
        message: "the instance was poisoned by an earlier trap",
        fuelExhausted: false,
        memoryExhausted: false,
        fuelUsed: 0n,
      })
    }
    return this.#worker.call(this, name, input, limits)
  }

  /** Frees the instance in its worker. */
  dispose(): void {
    this.#worker.drop(this)
  }

  /** Passes a guest log line to the instance's logger. */
  log(level: Parameters<NonNullable<WasmPluginOptions["logger"]>>[0], message: string): void {
    this.#options.logger?.(level, message)
  }

  /** Runs a host function the guest called in the worker and answers with `reply`. */
  serveHost(
    request: Extract<FromWorker, { t: "host" }>,
    reply: (answer: HostReply) => void,
  ): void {
    const fn = this.#options.hostFunctions?.[request.name]
    if (fn === undefined) {
      reply({ k: "error", message: `unknown host function ${request.name}` })
      return
    }
    const remaining = request.fuelRemaining
    let charged = 0n
    let output: Uint8Array | undefined
    const access: KernelAccess = {
      read: () => request.input,
      write: (bytes) => {
        output = bytes
        return bytes.length === 0 ? 0n : 1n
      },
      chargeFuel: (amount) => {
        charged += amount
        if (remaining !== undefined && charged > remaining) throw new RemoteFuelExhausted()
      },
      fuelRemaining: () => remaining === undefined ? undefined : remaining - charged,
    }
    const settled = (offset: bigint): HostReply => ({
      k: "ok",
      output: offset === 0n ? undefined : output,
      charged,
    })
    const failed = (e: unknown): HostReply => {
      if (e instanceof RemoteFuelExhausted) return { k: "fuel", charged }
      if (e instanceof ShortCircuit) return { k: "short", value: e.value }
      if (e instanceof DeadlineExceeded) return { k: "deadline", overMs: e.overMs }
      return { k: "error", message: errorMessage(e) }
    }
    try {
      const out = fn(access, request.hasInput ? 1n : 0n)
      if (typeof out === "bigint") reply(settled(out))
      else out.then((offset) => reply(settled(offset)), (e) => reply(failed(e)))
    } catch (e) {
      reply(failed(e))
    }
  }
}

/** Worker threads that run zome instances, with cell affinity. */
export class WorkerPool {
  readonly #size: number
  readonly #url: URL
  readonly #graceMs: number
  readonly #slots: Array<GuestWorker | undefined>
  readonly #affinity = new Map<string, number>()
  #nextInstance = 1
  #started = 0
  #died = 0
  #retired = 0
  #closed = false

  constructor(options: WorkerPoolOptions) {
    this.#size = Math.max(1, options.size)
    this.#url = options.url ?? GUEST_WORKER_URL
    this.#graceMs = options.watchdogGraceMs ?? 10_000
    this.#slots = Array.from({ length: this.#size }, () => undefined)
  }

  /** The worker slot of a cell: assigned on first use to the slot with the fewest cells. */
  #slotOf(cellKey: string): number {
    const known = this.#affinity.get(cellKey)
    if (known !== undefined) return known
    const counts = new Array<number>(this.#size).fill(0)
    for (const slot of this.#affinity.values()) counts[slot]!++
    let best = 0
    for (let i = 1; i < this.#size; i++) if (counts[i]! < counts[best]!) best = i
    this.#affinity.set(cellKey, best)
    return best
  }

  #worker(slot: number): GuestWorker {
    const running = this.#slots[slot]
    if (running !== undefined && running.dead === undefined) return running
    const worker = new GuestWorker(
      this.#url,
      `${GUEST_WORKER_NAME} ${slot}`,
      this.#graceMs,
      (dead, counted) => {
        if (counted) this.#died++
        if (this.#slots[slot] === dead) this.#slots[slot] = undefined
      },
    )
    this.#started++
    this.#slots[slot] = worker
    return worker
  }

  /**
   * Instantiates `module` in the worker of `cellKey`; the instance serves the guest's host
   * function calls with `options.hostFunctions` and logs through `options.logger`.
   */
  create(
    cellKey: string,
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    options: WasmPluginOptions,
  ): Promise<CreateOutcome> {
    if (this.#closed) {
      return Promise.resolve({
        _tag: "InstantiateError",
        message: "the guest worker pool is closed",
        fuelExhausted: false,
      })
    }
    const worker = this.#worker(this.#slotOf(cellKey))
    const plugin = new RemotePlugin(this.#nextInstance++, worker, options)
    return worker.create(plugin, module, info, {
      maxKernelBytes: options.maxKernelBytes,
      maxOutputBytes: options.maxOutputBytes,
      sliceFuel: options.sliceFuel,
      logLevel: options.logLevel,
      hostFunctions: Object.keys(options.hostFunctions ?? {}),
    })
  }

  /** Forgets a cell's worker assignment (when it stops). */
  forgetCell(cellKey: string): void {
    this.#affinity.delete(cellKey)
  }

  /**
   * Stops the workers that have held no instance for `idleMs` (a worker thread keeps about
   * 16 MB resident); the next call of their cells starts a new one.
   */
  retireIdle(now: number, idleMs: number): void {
    for (const worker of this.#slots) {
      if (worker === undefined || worker.dead !== undefined) continue
      if (worker.idleFor(now) < idleMs) continue
      this.#retired++
      worker.die("the guest worker was idle", false)
    }
  }

  /** What the pool runs. */
  stats(): WorkerPoolStats {
    let running = 0
    let inFlight = 0
    for (const worker of this.#slots) {
      if (worker === undefined || worker.dead !== undefined) continue
      running++
      inFlight += worker.inFlight
    }
    return { running, started: this.#started, died: this.#died, retired: this.#retired, inFlight }
  }

  /** Terminates every worker; calls in flight end with `worker_died`. */
  close(): void {
    this.#closed = true
    for (const worker of this.#slots) worker?.die("the guest worker pool was closed", false)
  }
}
