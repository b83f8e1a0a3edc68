/**
 * Entries (abi.md §3.2): app entries are the app's own msgpack bytes; system entries are agent
 * keys, capability grants and claims. Owns the canonical encoding that entry hashes are computed
 * over.
 *
 * @module
 */
import type { AgentPubKey } from "../hash/mod.ts"
import { encode } from "../codec/mod.ts"
import { canonicalCapGrant, type CapClaim, type CapGrant } from "./cap.ts"

export type Entry =
  | { readonly entry_type: "app"; readonly entry: Uint8Array }
  | { readonly entry_type: "agent"; readonly entry: AgentPubKey }
  | { readonly entry_type: "cap_grant"; readonly entry: CapGrant }
  | { readonly entry_type: "cap_claim"; readonly entry: CapClaim }

/** Largest app entry, in bytes (Holochain's limit). */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024

/** The canonical msgpack of an entry (keys `entry_type`, `entry`). */
export function encodeEntry(entry: Entry): Uint8Array {
  switch (entry.entry_type) {
    case "app":
    case "agent":
      return encode({ entry_type: entry.entry_type, entry: entry.entry })
    case "cap_grant":
      return encode({ entry_type: "cap_grant", entry: canonicalCapGrant(entry.entry) })
    case "cap_claim":
      return encode({
        entry_type: "cap_claim",
        entry: { tag: entry.entry.tag, grantor: entry.entry.grantor, secret: entry.entry.secret },
      })
  }
}
