/**
 * MessagePack as the conductor speaks it: `@msgpack/msgpack` with Holochain's conventions
 * (conductor-api.md §1.4): no ext types, 64-bit integers as JS numbers, bin as `Uint8Array`,
 * `undefined` members omitted, and decoding that tolerates binary map keys (converted to their
 * `u…`-style base64url text) so that any well-formed document a guest or client sends can be read.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack"
import { toBase64Url } from "../hash/mod.ts"
import { msgpackProblem } from "./check.ts"

const encoder = new Encoder({ ignoreUndefined: true, useBigInt64: false })
const decoder = new Decoder({
  useBigInt64: false,
  mapKeyConverter: (key: unknown) => {
    if (typeof key === "string" || typeof key === "number") return key
    if (key instanceof Uint8Array) return "u" + toBase64Url(key)
    // nil, booleans and containers as keys are legal msgpack; give them a stable text form.
    return JSON.stringify(key) ?? String(key)
  },
})

/** Encodes one value. `undefined` object members are left out; `undefined` itself encodes as nil. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(value)
}

/** Decodes exactly one value; throws `RangeError`/`DecodeError` on malformed or trailing bytes. */
export function decode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes)
}

/**
 * Decodes bytes that came from outside (a guest, a client): checks their structure first
 * (`msgpackProblem`), because a crafted header can make the decoder allocate without bound.
 * Throws a `RangeError` naming the problem.
 */
export function decodeUntrusted(bytes: Uint8Array): unknown {
  const problem = msgpackProblem(bytes)
  if (problem !== undefined) throw new RangeError(problem)
  return decoder.decode(bytes)
}

/** Encoded msgpack nil (`c0`). */
export const NIL: Uint8Array = Uint8Array.of(0xc0)

/** The error text of a failed decode, for error messages that name what is wrong. */
export function describeDecodeError(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
