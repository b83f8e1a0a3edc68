/**
 * HoloHash: the 39-byte typed hashes of conductor-api.md §6 (3-byte type prefix, 32-byte core,
 * 4-byte DHT location) and their `u…` base64url string form. Pure functions only; computing a
 * hash (BLAKE2b) is the job of the `Hasher` service in `./hasher.ts`.
 *
 * @module
 */

/** The kinds of HoloHash this conductor produces or accepts. */
export type HashType =
  | "agent"
  | "entry"
  | "dht_op"
  | "action"
  | "wasm"
  | "dna"
  | "warrant"
  | "external"

/** Prefix bytes per hash type (conductor-api.md §6). */
export const HASH_PREFIX: Readonly<Record<HashType, readonly [number, number, number]>> = {
  agent: [0x84, 0x20, 0x24],
  entry: [0x84, 0x21, 0x24],
  "dht_op": [0x84, 0x24, 0x24],
  action: [0x84, 0x29, 0x24],
  wasm: [0x84, 0x2a, 0x24],
  warrant: [0x84, 0x2c, 0x24],
  dna: [0x84, 0x2d, 0x24],
  external: [0x84, 0x2f, 0x24],
}

declare const HashBrand: unique symbol
/** A 39-byte HoloHash of type `T`. The brand is compile-time only. */
export type HoloHash<T extends HashType = HashType> = Uint8Array & { readonly [HashBrand]: T }
export type AgentPubKey = HoloHash<"agent">
export type EntryHash = HoloHash<"entry">
export type ActionHash = HoloHash<"action">
export type DnaHash = HoloHash<"dna">
export type WasmHash = HoloHash<"wasm">
export type DhtOpHash = HoloHash<"dht_op">
/** Anything that can be the base or target of a link: entry, action, agent or external hash. */
export type AnyLinkableHash = HoloHash<"entry" | "action" | "agent" | "external">
/** Anything stored on the DHT and retrievable with `get`: an entry or an action. */
export type AnyDhtHash = HoloHash<"entry" | "action">

/** Full length of a HoloHash in bytes. */
export const HASH_LENGTH = 39

const typeByPrefix = new Map<number, HashType>(
  Object.entries(HASH_PREFIX).map(([type, prefix]) => [prefix[1], type as HashType]),
)

/** The type of a 39-byte HoloHash, or `undefined` when the bytes are not one. Location bytes are not checked. */
export function hashTypeOf(bytes: Uint8Array): HashType | undefined {
  if (bytes.length !== HASH_LENGTH || bytes[0] !== 0x84 || bytes[2] !== 0x24) return undefined
  return typeByPrefix.get(bytes[1]!)
}

/** True when `bytes` is a HoloHash of one of `types` (prefix and length only, as Holochain's binary decoder). */
export function isHoloHash<T extends HashType>(
  bytes: unknown,
  ...types: ReadonlyArray<T>
): bytes is HoloHash<T> {
  if (!(bytes instanceof Uint8Array)) return false
  const type = hashTypeOf(bytes)
  return type !== undefined &&
    (types.length === 0 || (types as ReadonlyArray<HashType>).includes(type))
}

/** Builds a HoloHash from its parts. */
export function assembleHash<T extends HashType>(
  type: T,
  core: Uint8Array,
  location: Uint8Array,
): HoloHash<T> {
  if (core.length !== 32) throw new RangeError(`hash core must be 32 bytes, got ${core.length}`)
  if (location.length !== 4) {
    throw new RangeError(`hash location must be 4 bytes, got ${location.length}`)
  }
  const out = new Uint8Array(HASH_LENGTH)
  out.set(HASH_PREFIX[type], 0)
  out.set(core, 3)
  out.set(location, 35)
  return out as HoloHash<T>
}

/** The 32-byte core of a HoloHash (for an agent key, the raw Ed25519 public key). */
export function hashCore(hash: Uint8Array): Uint8Array {
  return hash.subarray(3, 35)
}

/** The same core and location under another type prefix (Holochain's `retype`). */
export function retypeHash<T extends HashType>(hash: Uint8Array, type: T): HoloHash<T> {
  const out = Uint8Array.from(hash)
  out.set(HASH_PREFIX[type], 0)
  return out as HoloHash<T>
}

/** Byte equality of two hashes (or any byte arrays). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
const B64URL_INDEX = new Int16Array(128).fill(-1)
for (let i = 0; i < B64URL.length; i++) B64URL_INDEX[B64URL.charCodeAt(i)] = i

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = ""
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!
  }
  return out
}

/** Decodes base64url (padding and the standard `+/` alphabet are accepted too); `undefined` when malformed. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")
  if (clean.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4))
  let o = 0
  let acc = 0
  let bits = 0
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i)
    const v = c < 128 ? B64URL_INDEX[c]! : -1
    if (v < 0) return undefined
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out.subarray(0, o)
}

/** The `u…` string form of a HoloHash (53 characters). */
export function encodeHashB64(hash: Uint8Array): string {
  return "u" + toBase64Url(hash)
}

/**
 * Parses the `u…` string form. Checks the `u`, the length and the prefix (and the type when
 * `types` is given); the location is not recomputed here (see `Hasher.checkLocation`).
 */
export function decodeHashB64<T extends HashType>(
  text: string,
  ...types: ReadonlyArray<T>
): HoloHash<T> | undefined {
  if (text.length !== 53 || text[0] !== "u") return undefined
  const bytes = fromBase64Url(text.slice(1))
  if (bytes === undefined || !isHoloHash(bytes, ...types)) return undefined
  return bytes as HoloHash<T>
}

/**
 * A string key for maps keyed by hash. Not for display (use `encodeHashB64`): it maps each byte
 * to one UTF-16 code unit, which is several times faster than base64 on the hot paths.
 */
export function hashKey(hash: Uint8Array): string {
  return String.fromCharCode.apply(null, hash as unknown as Array<number>)
}
