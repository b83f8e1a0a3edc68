/**
 * The messages between the ribosome (main thread) and a guest worker (`worker.ts`). Every value
 * is structured-cloneable: compiled modules, bytes, bigints and plain objects. The main thread
 * owns the instance pool and the host functions; a worker only holds instances by id and runs
 * their calls, asking the main thread for every host function call.
 *
 * @module
 */
import type { WasmModuleInfo } from "../../wasm/mod.ts"
import type { LogLevel } from "../wasm/kernel.ts"
import type { CallResult } from "../wasm/wasm_plugin.ts"

/** Kernel and metering options of an instance created in a worker. */
export interface RemoteOptions {
  readonly maxKernelBytes: number
  readonly maxOutputBytes?: number | undefined
  readonly sliceFuel?: bigint | undefined
  readonly logLevel?: LogLevel | undefined
  /** Names of the `extism:host/user` functions the main thread serves. */
  readonly hostFunctions: ReadonlyArray<string>
}

/** Main thread to worker. */
export type ToWorker =
  /** Instantiate `module` as instance `instance`. */
  | {
    readonly t: "create"
    readonly instance: number
    readonly module: WebAssembly.Module
    readonly info: WasmModuleInfo
    readonly options: RemoteOptions
  }
  /**
   * Call `fn` of instance `instance`; `deadline` is an absolute time in ms since the epoch
   * (`performance.timeOrigin + performance.now()`: comparable across threads).
   */
  | {
    readonly t: "call"
    readonly call: number
    readonly instance: number
    readonly fn: string
    readonly input: Uint8Array
    readonly fuel: bigint
    readonly deadline: number | undefined
  }
  /** The answer to host function call `host` of call `call`. */
  | { readonly t: "host"; readonly call: number; readonly host: number; readonly reply: HostReply }
  /** Forget instance `instance`. */
  | { readonly t: "drop"; readonly instance: number }

/** How a host function call ended, as the guest must see it. */
export type HostReply =
  /** Its output block (none: offset 0), and the fuel it charged (bytes, nested calls). */
  | { readonly k: "ok"; readonly output: Uint8Array | undefined; readonly charged: bigint }
  /** It charged more fuel than the call had left: the guest traps with `fuel_exhausted`. */
  | { readonly k: "fuel"; readonly charged: bigint }
  /** It stopped the guest (`must_get_*` in validation). */
  | { readonly k: "short"; readonly value: unknown }
  /** The call's deadline passed while it waited. */
  | { readonly k: "deadline"; readonly overMs: number }
  /** It threw (a conductor bug): the guest traps with `host_error`. */
  | { readonly k: "error"; readonly message: string }

/** Worker to main thread. */
export type FromWorker =
  /** The worker's script has loaded and it takes messages. */
  | { readonly t: "ready" }
  /** Instance `instance` was created, or why not. */
  | {
    readonly t: "created"
    readonly instance: number
    readonly error:
      | { readonly _tag: "LinkError" | "InstantiateError"; readonly message: string }
      | undefined
    readonly memoryBytes: number
  }
  /** Call `call` ended with `result`; `memoryBytes` is the instance's memory afterwards. */
  | {
    readonly t: "done"
    readonly call: number
    readonly result: CallResult
    readonly poisoned: boolean
    readonly memoryBytes: number
  }
  /** Call `call` asks for host function `name`; `input` is its input block, if any. */
  | {
    readonly t: "host"
    readonly call: number
    readonly host: number
    readonly name: string
    readonly hasInput: boolean
    readonly input: Uint8Array | undefined
    readonly fuelRemaining: bigint | undefined
  }
  /** A guest log line of instance `instance`. */
  | {
    readonly t: "log"
    readonly instance: number
    readonly level: LogLevel
    readonly message: string
  }
  /** The worker hit an uncaught error and is closing itself. */
  | { readonly t: "fatal"; readonly message: string }
