/**
 * A mock conductor for testing zomes without the ribosome: a minimal Extism kernel
 * (`extism:host/env`) plus the host functions of docs/abi.md §4 (`extism:host/user`), each
 * answered by a handler the test provides, with msgpack in and result envelopes out (§2.2).
 *
 * Owns nothing the conductor ships: it exists for plugins/pdk tests and for anyone who wants to
 * unit-test a zome. It does not meter fuel, enforce contexts or validate writes.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack"

/** The host functions of docs/abi.md §4, in table order. */
export const HOST_FUNCTIONS = [
  "agent_info_1",
  "dna_info_1",
  "zome_info_1",
  "call_info_1",
  "sys_time_1",
  "random_bytes_1",
  "trace_1",
  "hash_1",
  "sign_1",
  "verify_signature_1",
  "create_1",
  "update_1",
  "delete_1",
  "create_link_1",
  "delete_link_1",
  "create_cap_grant_1",
  "create_cap_claim_1",
  "get_1",
  "get_details_1",
  "get_links_1",
  "query_1",
  "must_get_entry_1",
  "must_get_action_1",
  "must_get_valid_record_1",
  "must_get_agent_activity_1",
  "emit_signal_1",
  "call_1",
  "receptor_call_1",
  "count_links_1",
  "get_agent_activity_1",
  "call_remote_1",
  "send_remote_signal_1",
] as const

/** A host function name. */
export type HostFunctionName = typeof HOST_FUNCTIONS[number]

/** What a handler answers: the `ok` output or an `err`. */
export type HostAnswer =
  | { readonly ok: unknown }
  | { readonly err: { readonly kind: string; readonly message: string } }
  /** Raw envelope bytes, sent as they are (for malformed-envelope tests). */
  | { readonly raw: Uint8Array }

/** Answers one host-function call; `input` is the decoded msgpack (null for "no input"). */
export type HostHandler = (input: unknown) => HostAnswer

/** One host-function call the guest made. */
export interface HostCall {
  readonly fn: HostFunctionName
  readonly input: unknown
}

/** The outcome of one guest call. */
export interface GuestResult {
  /** The export's return value (0 ok, 1 failed), or null when it trapped. */
  readonly rc: number | null
  /** The output block the guest set, if any. */
  readonly output: Uint8Array | null
  /** The text of the error block the guest set, if any (also after a trap). */
  readonly error: string | null
  /** The trap's message when the call trapped. */
  readonly trap: string | null
}

const encoder = new Encoder({ useBigInt64: true })
const decoder = new Decoder({ useBigInt64: true })

/**
 * Encodes msgpack the way the conductor and `@holochain/client` do: integers beyond 32 bits as
 * int64/uint64 (not float64), and bigints for values beyond 2^53.
 */
export function pack(value: unknown): Uint8Array {
  return encoder.encode(widenIntegers(value))
}

// With `useBigInt64`, @msgpack/msgpack writes plain numbers above 32 bits as float64; the
// conductor's encoder (useBigInt64: false) writes them as 64-bit ints, so convert them first.
function widenIntegers(value: unknown): unknown {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && Math.abs(value) >= 2 ** 32 ? BigInt(value) : value
  }
  if (Array.isArray(value)) return value.map(widenIntegers)
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, widenIntegers(v)]))
}

/** Decodes exactly one msgpack value; only integers beyond 2^53 come back as bigint. */
export function unpack(bytes: Uint8Array): unknown {
  return narrowIntegers(decoder.decode(bytes))
}

function narrowIntegers(value: unknown): unknown {
  if (typeof value === "bigint") {
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) &&
      value <= BigInt(Number.MAX_SAFE_INTEGER)
    return safe ? Number(value) : value
  }
  if (Array.isArray(value)) return value.map(narrowIntegers)
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, narrowIntegers(v)]))
}

const BLOCK_SHIFT = 32n
const OFFSET_MASK = (1n << BLOCK_SHIFT) - 1n

/** Thrown inside a kernel function for a bad address; it traps the guest like a real kernel. */
export class KernelFault extends Error {
  override readonly name = "KernelFault"
}

/**
 * An instantiated zome plus its mock host. Create one with {@link MockHost.load}; set handlers
 * with {@link MockHost.on}; run exports with {@link MockHost.call}.
 */
export class MockHost {
  readonly calls: HostCall[] = []
  readonly logs: string[] = []
  #blocks: (Uint8Array | null)[] = [new Uint8Array(0)]
  #input: Uint8Array = new Uint8Array(0)
  #inputBlock = 0n
  #output: bigint | null = null
  #error: bigint | null = null
  #handlers = new Map<HostFunctionName, HostHandler>()
  #instance: WebAssembly.Instance | null = null

  /** Instantiates `module` against a fresh mock host. */
  static load(module: WebAssembly.Module): MockHost {
    const host = new MockHost()
    host.#instance = new WebAssembly.Instance(module, host.#imports())
    return host
  }

  /** Sets the handler of `fn` (unset handlers answer `{err: {kind: "internal"}}`). */
  on(fn: HostFunctionName, handler: HostHandler): this {
    this.#handlers.set(fn, handler)
    return this
  }

  /** Calls the export `name` with `input` bytes. */
  call(name: string, input: Uint8Array = new Uint8Array(0)): GuestResult {
    const fn = this.#instance?.exports[name]
    if (typeof fn !== "function") throw new Error(`the zome exports no function "${name}"`)
    this.#blocks = [new Uint8Array(0)]
    this.#input = input
    this.#inputBlock = this.#store(input)
    this.#output = null
    this.#error = null
    let rc: number | null = null
    let trap: string | null = null
    try {
      rc = (fn as () => number)()
    } catch (cause) {
      if (
        !(cause instanceof WebAssembly.RuntimeError || cause instanceof KernelFault ||
          cause instanceof RangeError)
      ) {
        throw cause
      }
      trap = cause.message
    }
    return {
      rc,
      output: this.#output === null ? null : this.#read(this.#output),
      error: this.#error === null ? null : new TextDecoder().decode(this.#read(this.#error)),
      trap,
    }
  }

  /** Calls `name` with `input` encoded as msgpack and decodes a successful output. */
  callValue(name: string, input: unknown = null): unknown {
    const result = this.call(name, pack(input))
    if (result.rc !== 0 || result.output === null) {
      throw new Error(`${name} failed: ${result.error ?? result.trap ?? `rc ${result.rc}`}`)
    }
    return unpack(result.output)
  }

  /** Bytes of the guest's linear memory (it only grows: a bound on what the zome ever used). */
  get memoryBytes(): number {
    const memory = this.#instance?.exports["memory"]
    return memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0
  }

  /** Live kernel blocks (those allocated and not freed) after the last call. */
  get liveBlocks(): number {
    return this.#blocks.filter((b) => b !== null).length - 1
  }

  #store(bytes: Uint8Array): bigint {
    this.#blocks.push(bytes.slice())
    return BigInt(this.#blocks.length - 1) << BLOCK_SHIFT
  }

  #block(address: bigint): { block: Uint8Array; offset: number } {
    const index = Number(address >> BLOCK_SHIFT)
    const block = this.#blocks[index]
    if (block === undefined || block === null) {
      throw new KernelFault(`no kernel block at 0x${address.toString(16)}`)
    }
    return { block, offset: Number(address & OFFSET_MASK) }
  }

  #read(address: bigint): Uint8Array {
    const { block, offset } = this.#block(address)
    return block.subarray(offset)
  }

  #view(address: bigint, size: number): DataView {
    const { block, offset } = this.#block(address)
    if (offset + size > block.length) {
      throw new KernelFault(`kernel access out of bounds at 0x${address.toString(16)}`)
    }
    return new DataView(block.buffer, block.byteOffset + offset, size)
  }

  #imports(): WebAssembly.Imports {
    const env = {
      alloc: (n: bigint) => this.#store(new Uint8Array(Number(n))),
      free: (address: bigint) => {
        const index = Number(address >> BLOCK_SHIFT)
        if (index > 0 && index < this.#blocks.length) this.#blocks[index] = null
      },
      length: (address: bigint) => {
        if (address === 0n) return 0n
        return BigInt(this.#block(address).block.length)
      },
      "length_unsafe": (address: bigint) => BigInt(this.#block(address).block.length),
      "load_u8": (address: bigint) => this.#view(address, 1).getUint8(0),
      "load_u64": (address: bigint) => this.#view(address, 8).getBigUint64(0, true),
      "store_u8": (address: bigint, value: number) => this.#view(address, 1).setUint8(0, value),
      "store_u64": (address: bigint, value: bigint) =>
        this.#view(address, 8).setBigUint64(0, value, true),
      "input_offset": () => this.#inputBlock,
      "input_length": () => BigInt(this.#input.length),
      "input_load_u8": (offset: bigint) => this.#view(this.#inputBlock + offset, 1).getUint8(0),
      "input_load_u64": (offset: bigint) =>
        this.#view(this.#inputBlock + offset, 8).getBigUint64(0, true),
      "output_set": (address: bigint, length: bigint) => {
        const { block } = this.#block(address)
        if (Number(length) !== block.length) {
          throw new KernelFault(`output_set length ${length} != block length ${block.length}`)
        }
        this.#output = address
      },
      "error_set": (address: bigint) => {
        this.#block(address)
        this.#error = address
      },
      "config_get": () => 0n,
      "var_get": () => 0n,
      "var_set": () => {},
      "log_info": (a: bigint) => this.#log("info", a),
      "log_warn": (a: bigint) => this.#log("warn", a),
      "log_error": (a: bigint) => this.#log("error", a),
      "log_debug": (a: bigint) => this.#log("debug", a),
    }
    const user: Record<string, (input: bigint) => bigint> = {}
    for (const fn of HOST_FUNCTIONS) user[fn] = (address) => this.#hostCall(fn, address)
    return { "extism:host/env": env, "extism:host/user": user }
  }

  #log(level: string, address: bigint): void {
    this.logs.push(`${level}: ${new TextDecoder().decode(this.#read(address))}`)
  }

  #hostCall(fn: HostFunctionName, address: bigint): bigint {
    let input: unknown = null
    if (address !== 0n) {
      // Like the conductor, answer a bad block or malformed msgpack with invalid_input.
      try {
        input = unpack(this.#read(address))
      } catch (cause) {
        const message = cause instanceof Error ? cause.message : String(cause)
        this.calls.push({ fn, input: undefined })
        return this.#store(pack({ err: { kind: "invalid_input", message } }))
      }
    }
    this.calls.push({ fn, input })
    const handler = this.#handlers.get(fn)
    const answer: HostAnswer = handler === undefined
      ? { err: { kind: "internal", message: `mock host: no handler for ${fn}` } }
      : handler(input)
    if ("raw" in answer) return this.#store(answer.raw)
    return this.#store(pack(answer))
  }
}
