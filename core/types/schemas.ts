/**
 * Schemas for the byte-level primitives shared by the ABI and the Conductor API: HoloHashes of a
 * given type, fixed-size byte strings and timestamps. Decoding untrusted input (guest output,
 * client requests) goes through these.
 *
 * @module
 */
import { Schema } from "effect"
import { type HashType, type HoloHash, isHoloHash } from "../hash/mod.ts"

/** A HoloHash of one of `types` (length and prefix checked; location bytes are not). */
export function HashOf<T extends HashType>(...types: ReadonlyArray<T>) {
  const label = types.length === 0 ? "HoloHash" : `${types.join(" or ")} hash`
  return Schema.declare<HoloHash<T>>(
    (u): u is HoloHash<T> => isHoloHash(u, ...types),
    { expected: `a 39-byte ${label}` },
  )
}

/** Exactly `n` bytes. */
export function BytesOf(n: number) {
  return Schema.Uint8Array.check(
    Schema.makeFilter((u) => u.length === n || `expected ${n} bytes, got ${u.length}`),
  )
}

export const AgentPubKeySchema = HashOf("agent")
export const DnaHashSchema = HashOf("dna")
export const ActionHashSchema = HashOf("action")
export const EntryHashSchema = HashOf("entry")
export const AnyDhtHashSchema = HashOf("entry", "action")
export const AnyLinkableHashSchema = HashOf("entry", "action", "agent", "external")
export const CapSecretSchema = BytesOf(64)
export const CellIdSchema = Schema.Tuple([DnaHashSchema, AgentPubKeySchema])
export type CellId = typeof CellIdSchema.Type
