/**
 * The remote-call protocol, pure: the body of a `call` request and of a `signal` message, their
 * bounded decoding, the expiry window and the nonce replay check, and the answer's outcome.
 *
 * A request travels in a signed envelope (./envelope.ts): the envelope's `from` is the caller
 * (the callee's provenance), its `nonce` is 16 random bytes and its `at` the caller's clock. The
 * body adds `expires_at`: the callee refuses a request past it, one whose window is longer than
 * `MAX_CALL_WINDOW_MICROS`, and one whose (caller, nonce) it has already run (`NonceCache`, which
 * remembers each nonce until its request expires). So a captured request cannot be replayed,
 * not even to another conductor hosting the same agent later than its expiry.
 *
 * @module
 */
import { decodeUntrusted, encode } from "../codec/mod.ts"
import { type AgentPubKey, hashKey } from "../hash/mod.ts"
import type { RemoteCallOutcome } from "../network/mod.ts"

/** Longest accepted window between a call's sending and its expiry: 5 minutes. */
export const MAX_CALL_WINDOW_MICROS = 300_000_000
/** Longest zome or function name. */
const MAX_NAME = 256
/** Largest payload of a call or signal (the host functions bound it first). */
export const MAX_REMOTE_PAYLOAD = 1024 * 1024
/** Longest error text in an outcome. */
const MAX_TEXT = 4096

/** A `call` request body. */
export interface CallRequest {
  readonly zome: string
  readonly fn: string
  readonly payload: Uint8Array
  readonly capSecret: Uint8Array | null
  /** Microseconds since the epoch past which the callee refuses it. */
  readonly expiresAt: number
}

/** Encodes a `call` request body. */
export function encodeCallRequest(request: CallRequest): Uint8Array {
  return encode({
    zome: request.zome,
    fn: request.fn,
    payload: request.payload,
    "cap_secret": request.capSecret,
    "expires_at": request.expiresAt,
  })
}

const isName = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= MAX_NAME

/** Decodes an untrusted `call` request body; a string says what is wrong. */
export function decodeCallRequest(body: Uint8Array): CallRequest | string {
  let value: unknown
  try {
    value = decodeUntrusted(body)
  } catch (cause) {
    return `not msgpack: ${cause instanceof Error ? cause.message : String(cause)}`
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a map"
  const f = value as { [key: string]: unknown }
  if (!isName(f.zome) || !isName(f.fn)) {
    return `zome and fn are names of 1 to ${MAX_NAME} characters`
  }
  if (!(f.payload instanceof Uint8Array) || f.payload.length > MAX_REMOTE_PAYLOAD) {
    return `payload is bytes, at most ${MAX_REMOTE_PAYLOAD}`
  }
  const secret = f.cap_secret ?? null
  if (secret !== null && !(secret instanceof Uint8Array && secret.length === 64)) {
    return "cap_secret is 64 bytes or nil"
  }
  if (typeof f.expires_at !== "number" || !Number.isSafeInteger(f.expires_at)) {
    return "expires_at is an integer"
  }
  return {
    zome: f.zome,
    fn: f.fn,
    payload: f.payload,
    capSecret: secret as Uint8Array | null,
    expiresAt: f.expires_at,
  }
}

/**
 * Why a request may not run now (sent at `sentAt`, checked at `now`, both µs), or null: expired,
 * or asking for a window longer than `MAX_CALL_WINDOW_MICROS`.
 */
export function callWindowProblem(
  request: CallRequest,
  sentAt: number,
  now: number,
): string | null {
  if (request.expiresAt < now) return `the request expired ${now - request.expiresAt} µs ago`
  if (request.expiresAt - sentAt > MAX_CALL_WINDOW_MICROS) {
    return `the request's window of ${
      request.expiresAt - sentAt
    } µs is over ${MAX_CALL_WINDOW_MICROS}`
  }
  return null
}

/**
 * The nonces of requests run, each kept until its request expires; bounded (`capacity`): when
 * full after dropping the expired, `remember` refuses (the caller retries later) instead of
 * forgetting a live nonce.
 */
export class NonceCache {
  readonly #until = new Map<string, number>()
  constructor(readonly capacity = 100_000) {}

  /** Entries held. */
  get size(): number {
    return this.#until.size
  }

  /**
   * Records (caller, nonce) until `expiresAt`: "fresh" the first time, "replayed" when it is
   * still held, "full" when there is no room for it.
   */
  remember(
    caller: AgentPubKey,
    nonce: Uint8Array,
    expiresAt: number,
    now: number,
  ): "fresh" | "replayed" | "full" {
    const key = hashKey(caller) + ":" + hashKey(nonce)
    const held = this.#until.get(key)
    if (held !== undefined && held >= now) return "replayed"
    if (this.#until.size >= this.capacity) {
      for (const [k, until] of this.#until) if (until < now) this.#until.delete(k)
      if (this.#until.size >= this.capacity) return "full"
    }
    this.#until.set(key, expiresAt)
    return "fresh"
  }
}

/** Encodes a call's outcome (the answer body). */
export function encodeOutcome(outcome: RemoteCallOutcome): Uint8Array {
  return encode({ type: outcome.type, value: outcome.value })
}

/** Decodes an untrusted outcome; a string says what is wrong. */
export function decodeOutcome(body: Uint8Array): RemoteCallOutcome | string {
  let value: unknown
  try {
    value = decodeUntrusted(body)
  } catch (cause) {
    return `not msgpack: ${cause instanceof Error ? cause.message : String(cause)}`
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a map"
  const f = value as { [key: string]: unknown }
  if (f.type === "ok" && f.value instanceof Uint8Array) return { type: "ok", value: f.value }
  if ((f.type === "unauthorized" || f.type === "error") && typeof f.value === "string") {
    return { type: f.type, value: f.value.slice(0, MAX_TEXT) }
  }
  return "not {type: ok|unauthorized|error, value}"
}

/** A `signal` message body. */
export interface SignalMessage {
  readonly zome: string
  readonly payload: Uint8Array
}

/** Encodes a `signal` body. */
export function encodeSignal(signal: SignalMessage): Uint8Array {
  return encode({ zome: signal.zome, payload: signal.payload })
}

/** Decodes an untrusted `signal` body; a string says what is wrong. */
export function decodeSignal(body: Uint8Array): SignalMessage | string {
  let value: unknown
  try {
    value = decodeUntrusted(body)
  } catch (cause) {
    return `not msgpack: ${cause instanceof Error ? cause.message : String(cause)}`
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a map"
  const f = value as { [key: string]: unknown }
  if (!isName(f.zome)) return `zome is a name of 1 to ${MAX_NAME} characters`
  if (!(f.payload instanceof Uint8Array) || f.payload.length > MAX_REMOTE_PAYLOAD) {
    return `payload is bytes, at most ${MAX_REMOTE_PAYLOAD}`
  }
  return { zome: f.zome, payload: f.payload }
}
