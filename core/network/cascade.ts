/**
 * The `Cascade` (Holochain's name): reads that try the local DHT store first and ask the
 * `Network` only for what is not local. What comes from the network is hostile until checked:
 * a record is used only when its action hashes to the asked (or returned) action hash, its
 * signature verifies against its author, and its entry (if any) hashes to the action's entry
 * hash; otherwise it is treated as not found. Host functions read through it once they can
 * await (the local store stays synchronous underneath).
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { entryHashOf } from "../chain/mod.ts"
import { verifySignature } from "../crypto/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  hashCore,
  Hasher,
  type HasherShape,
  hashTypeOf,
} from "../hash/mod.ts"
import { Spaces } from "../space/mod.ts"
import type { StoreError } from "../store/mod.ts"
import { encodeAction, type Record } from "../types/mod.ts"
import { Network, type NetworkError } from "./network.ts"

/** True when a record from elsewhere is what it claims to be and answers `hash`. */
export function verifiedRecord(hasher: HasherShape, record: Record, hash: Uint8Array): boolean {
  const bytes = encodeAction(record.action)
  if (!bytesEqual(hasher.hashContent("action", bytes), record.action_hash)) return false
  if (!verifySignature(hashCore(record.action.author), bytes, record.signature)) return false
  const action = record.action
  const entryHash = action.type === "create" || action.type === "update" ? action.entry_hash : null
  if (record.entry !== null) {
    if (entryHash === null || !bytesEqual(entryHashOf(hasher, record.entry), entryHash)) {
      return false
    }
  }
  return hashTypeOf(hash) === "entry"
    ? entryHash !== null && bytesEqual(entryHash, hash) && record.entry !== null
    : bytesEqual(record.action_hash, hash)
}

/** What the Cascade offers. */
export interface CascadeShape {
  /** A record by action or entry hash: local first, then a verified answer from the network. */
  readonly get: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
  ) => Effect.Effect<Record | null, StoreError | NetworkError>
}

/** Builds the cascade. */
export const makeCascade = Effect.gen(function* () {
  const spaces = yield* Spaces
  const network = yield* Network
  const hasher = yield* Hasher
  const get = Effect.fn("Cascade.get")(function* (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
  ) {
    const local = yield* spaces.get(dna, hash, viewer)
    if (local !== null) return local
    const remote = yield* network.get(dna, hash)
    return remote !== null && verifiedRecord(hasher, remote, hash) ? remote : null
  })
  return Cascade.of({ get })
})

/** Local-first reads with verified network fallback. */
export class Cascade extends Context.Service<Cascade, CascadeShape>()("conductor/network/Cascade") {
  static readonly layer = Layer.effect(Cascade, makeCascade)
}
