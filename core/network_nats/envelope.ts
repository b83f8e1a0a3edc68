/**
 * The signed envelope: the only thing this conductor sends over NATS. NATS is an untrusted
 * router (network.md §4), so every message says who sent it, to which space (and agent) and
 * when, and is signed by the sender's agent key; the receiver checks all of it before it looks
 * at the body. Subjects and reply subjects are only routing, never identity.
 *
 * Wire form (msgpack): `[signed, signature]`, where `signed` is the msgpack bytes of
 * `[1, kind, space, from, to, at, nonce, body]`: version, message kind, DNA hash (39 bytes),
 * sending agent (39 bytes), addressed agent or nil, microseconds since the epoch, 16 random
 * bytes, and the kind's body (bytes, itself msgpack). `signature` is Ed25519 over `signed`.
 *
 * It owns the format, sealing and opening. It does not know subjects or what bodies mean.
 *
 * @module
 */
import { Schema } from "effect"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import { randomBytes, verifySignature } from "../crypto/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  encodeHashB64,
  hashCore,
  isHoloHash,
} from "../hash/mod.ts"

/** The envelope format version. */
export const ENVELOPE_VERSION = 1
/** How far an envelope's time may be from the receiver's clock, in microseconds (5 minutes). */
export const MAX_CLOCK_SKEW_MICROS = 300_000_000
/** Longest message kind. */
const MAX_KIND_LENGTH = 32

/** An opened (verified) envelope. */
export interface Envelope {
  readonly kind: string
  readonly space: DnaHash
  readonly from: AgentPubKey
  readonly to: AgentPubKey | null
  /** Microseconds since the epoch, by the sender's clock. */
  readonly at: number
  readonly nonce: Uint8Array
  readonly body: Uint8Array
}

/** What the receiver expects of an envelope. */
export interface Expectation {
  /** The kinds accepted here. */
  readonly kinds: ReadonlySet<string>
  readonly space: DnaHash
  /** The agent it must be addressed to; undefined accepts any (broadcasts). */
  readonly to?: AgentPubKey
  /** The receiver's clock, in microseconds. */
  readonly now: number
  /** Largest accepted message, in bytes. */
  readonly maxBytes: number
}

/** An envelope that was refused; `reason` says what was wrong. */
export class EnvelopeRefused extends Schema.TaggedError<EnvelopeRefused>()("EnvelopeRefused", {
  reason: Schema.Literals([
    "TooLarge",
    "Malformed",
    "BadSignature",
    "WrongSpace",
    "WrongRecipient",
    "WrongKind",
    "Stale",
  ]),
  detail: Schema.String,
}) {
  override get message(): string {
    return `envelope refused (${this.reason}): ${this.detail}`
  }
}

/** Signs `body` as `kind` from `from`; `sign` signs with `from`'s key. */
export function sealEnvelope(
  fields: Omit<Envelope, "nonce">,
  sign: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  const signed = encode([
    ENVELOPE_VERSION,
    fields.kind,
    fields.space,
    fields.from,
    fields.to,
    fields.at,
    randomBytes(16),
    fields.body,
  ])
  return encode([signed, sign(signed)])
}

const refuse = (reason: EnvelopeRefused["reason"], detail: string) =>
  new EnvelopeRefused({ reason, detail })

const isBytes = (value: unknown, length?: number): value is Uint8Array =>
  value instanceof Uint8Array && (length === undefined || value.length === length)

/** Opens `data`: checks size, structure, signature, space, recipient, kind and time. */
export function openEnvelope(data: Uint8Array, expect: Expectation): Envelope | EnvelopeRefused {
  if (data.length > expect.maxBytes) {
    return refuse("TooLarge", `${data.length} bytes, the limit is ${expect.maxBytes}`)
  }
  let outer: unknown
  let inner: unknown
  try {
    outer = decodeUntrusted(data)
    if (!Array.isArray(outer) || outer.length !== 2 || !isBytes(outer[0]) || !isBytes(outer[1])) {
      return refuse("Malformed", "not [signed, signature]")
    }
    inner = decodeUntrusted(outer[0])
  } catch (cause) {
    return refuse("Malformed", cause instanceof Error ? cause.message : String(cause))
  }
  const [signed, signature] = outer as [Uint8Array, Uint8Array]
  if (!Array.isArray(inner) || inner.length !== 8) return refuse("Malformed", "not 8 fields")
  const [version, kind, space, from, to, at, nonce, body] = inner
  if (version !== ENVELOPE_VERSION) return refuse("Malformed", `version ${String(version)}`)
  if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_KIND_LENGTH) {
    return refuse("Malformed", "kind is not a short string")
  }
  if (!isHoloHash(space, "dna")) return refuse("Malformed", "space is not a DNA hash")
  if (!isHoloHash(from, "agent")) return refuse("Malformed", "from is not an agent key")
  if (to !== null && !isHoloHash(to, "agent")) return refuse("Malformed", "to is not an agent")
  if (typeof at !== "number" || !Number.isSafeInteger(at)) return refuse("Malformed", "bad time")
  if (!isBytes(nonce, 16) || !isBytes(body)) return refuse("Malformed", "bad nonce or body")
  // The signature first: nothing else about an unsigned claim is worth reporting.
  if (!verifySignature(hashCore(from), signed, signature)) {
    return refuse("BadSignature", `not signed by ${encodeHashB64(from)}`)
  }
  if (!bytesEqual(space, expect.space)) {
    return refuse("WrongSpace", `for ${encodeHashB64(space)}`)
  }
  if (expect.to !== undefined && (to === null || !bytesEqual(to, expect.to))) {
    return refuse("WrongRecipient", `addressed to ${to === null ? "nobody" : encodeHashB64(to)}`)
  }
  if (!expect.kinds.has(kind)) return refuse("WrongKind", `kind ${kind}`)
  if (Math.abs(expect.now - at) > MAX_CLOCK_SKEW_MICROS) {
    return refuse("Stale", `sent at ${at}, ${Math.round((expect.now - at) / 1e6)} s from now`)
  }
  return {
    kind,
    space: space as DnaHash,
    from: from as AgentPubKey,
    to: to as AgentPubKey | null,
    at,
    nonce,
    body,
  }
}
