/**
 * A guest worker: runs zome instances on its own thread (`ribosome.workers`). The main thread
 * sends compiled, instrumented modules and calls; the guest runs here under the same fuel
 * metering, deadline, output and kernel limits as on the main thread (the same `WasmPlugin`),
 * and every host function call goes to the main thread as a message while the guest is
 * suspended (JSPI), so a waiting host function holds up neither this worker's other calls nor
 * anything else. An uncaught error closes the worker after telling the main thread, which fails
 * the worker's calls in flight and starts a new one.
 *
 * @module
 */
import {
  DeadlineExceeded,
  ShortCircuit,
  type UserHostFunction,
  WasmPlugin,
} from "../wasm/wasm_plugin.ts"
import type { FromWorker, HostReply, RemoteOptions, ToWorker } from "./protocol.ts"

/** The parts of a worker's global scope it uses (typed here: main-thread code imports this file). */
interface WorkerScope {
  postMessage(message: FromWorker): void
  close(): void
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void
  addEventListener(
    type: "unhandledrejection",
    listener: (event: PromiseRejectionEvent) => void,
  ): void
}

const scope = globalThis as unknown as WorkerScope

interface Held {
  readonly plugin: WasmPlugin
  /** The call running in the instance (an instance runs one call at a time). */
  call: number
}

const instances = new Map<number, Held>()
/** Host function calls waiting for the main thread, by call and host id. */
const waiting = new Map<string, (reply: HostReply) => void>()
let nextHost = 1

function post(message: FromWorker): void {
  scope.postMessage(message)
}

function fatal(message: string): void {
  post({ t: "fatal", message })
  scope.close()
}

/** Applies a host function's reply inside the guest: its output offset, or a trap. */
function applyReply(
  access: Parameters<UserHostFunction>[0],
  reply: HostReply,
): bigint {
  switch (reply.k) {
    case "ok":
      if (reply.charged > 0n) access.chargeFuel(reply.charged)
      return reply.output === undefined ? 0n : access.write(reply.output)
    case "fuel":
      // More than the call has left: this throws the plugin's own fuel-exhausted trap.
      access.chargeFuel(reply.charged)
      return 0n
    case "short":
      throw new ShortCircuit(reply.value)
    case "deadline":
      throw new DeadlineExceeded(reply.overMs)
    case "error":
      throw new Error(reply.message)
  }
}

function proxies(id: number, options: RemoteOptions): Record<string, UserHostFunction> {
  const functions: Record<string, UserHostFunction> = {}
  for (const name of options.hostFunctions) {
    functions[name] = (access, offset) => {
      const held = instances.get(id)
      if (held === undefined) throw new Error(`instance ${id} is gone`)
      const hasInput = offset !== 0n
      const input = hasInput ? access.read(offset) : undefined
      const host = nextHost++
      const call = held.call
      return new Promise<HostReply>((resolve) => {
        waiting.set(`${call}/${host}`, resolve)
        post({
          t: "host",
          call,
          host,
          name,
          hasInput,
          input,
          fuelRemaining: access.fuelRemaining(),
        })
      }).then((reply) => applyReply(access, reply))
    }
  }
  return functions
}

async function create(message: Extract<ToWorker, { t: "create" }>): Promise<void> {
  const { instance, options } = message
  const created = await WasmPlugin.create(message.module, message.info, {
    maxKernelBytes: options.maxKernelBytes,
    maxOutputBytes: options.maxOutputBytes,
    sliceFuel: options.sliceFuel,
    logLevel: options.logLevel,
    hostFunctions: proxies(instance, options),
    logger: (level, text) => post({ t: "log", instance, level, message: text }),
  })
  if (created._tag !== "Created") {
    post({
      t: "created",
      instance,
      error: { _tag: created._tag, message: created.message },
      memoryBytes: 0,
    })
    return
  }
  instances.set(instance, { plugin: created.plugin, call: 0 })
  post({ t: "created", instance, error: undefined, memoryBytes: created.plugin.memoryBytes })
}

async function call(message: Extract<ToWorker, { t: "call" }>): Promise<void> {
  const held = instances.get(message.instance)
  if (held === undefined) {
    post({
      t: "done",
      call: message.call,
      result: {
        _tag: "Trap",
        kind: "poisoned",
        message: `instance ${message.instance} does not exist in this worker`,
        fuelExhausted: false,
        memoryExhausted: false,
        fuelUsed: 0n,
      },
      poisoned: true,
      memoryBytes: 0,
    })
    return
  }
  held.call = message.call
  const deadline = message.deadline === undefined
    ? undefined
    : message.deadline - performance.timeOrigin
  const result = await held.plugin.call(message.fn, message.input, {
    fuel: message.fuel,
    deadline,
  })
  held.call = 0
  post({
    t: "done",
    call: message.call,
    result,
    poisoned: held.plugin.poisoned,
    memoryBytes: held.plugin.memoryBytes,
  })
}

/** The name prefix of guest worker threads ({@link isGuestWorker}). */
export const GUEST_WORKER_NAME = "conductor guest worker"

/**
 * True in a thread started as a guest worker: the bundled executable starts its workers from its
 * own (single) script, whose entry point then calls {@link startGuestWorker} instead of the CLI.
 */
export function isGuestWorker(): boolean {
  const name = (globalThis as { readonly name?: unknown }).name
  return typeof name === "string" && name.startsWith(GUEST_WORKER_NAME)
}

/** Makes this thread a guest worker: it takes the ribosome's messages from now on. */
export function startGuestWorker(): void {
  scope.addEventListener("error", (event) => {
    event.preventDefault()
    fatal(`uncaught error in a guest worker: ${event.message}`)
  })
  scope.addEventListener("unhandledrejection", (event) => {
    event.preventDefault()
    fatal(`unhandled rejection in a guest worker: ${String(event.reason)}`)
  })
  scope.addEventListener("message", (event: MessageEvent<ToWorker>) => {
    const message = event.data
    switch (message.t) {
      case "create":
        void create(message)
        return
      case "call":
        void call(message)
        return
      case "host": {
        const key = `${message.call}/${message.host}`
        const resolve = waiting.get(key)
        waiting.delete(key)
        resolve?.(message.reply)
        return
      }
      case "drop":
        instances.delete(message.instance)
        return
    }
  })
  post({ t: "ready" })
}
