/**
 * Records and signed actions: an action with its hash and signature, and optionally its entry
 * (abi.md §3.3). These are the shapes handed to guests and returned by reads.
 *
 * @module
 */
import type { ActionHash } from "../hash/mod.ts"
import type { Action } from "./action.ts"
import type { Entry } from "./entry.ts"

/** An action with its hash and its author's signature. */
export type SignedAction = {
  readonly "action_hash": ActionHash
  readonly action: Action
  readonly signature: Uint8Array
}

/** A signed action and, when visible, its entry. */
export type Record = SignedAction & {
  readonly entry: Entry | null
}

/** The ABI form of a signed action (canonical key order). */
export function signedActionWire(signed: SignedAction): SignedAction {
  return { action_hash: signed.action_hash, action: signed.action, signature: signed.signature }
}

/** The ABI form of a record. */
export function recordWire(record: Record): Record {
  return {
    action_hash: record.action_hash,
    action: record.action,
    signature: record.signature,
    entry: record.entry,
  }
}
