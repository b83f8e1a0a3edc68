/**
 * Records as they travel between conductors: which entries stay home (private app entries,
 * capability grants and claims travel without their entry), and the bounded decoding of an
 * untrusted record body. Checking hashes and signatures is `verifiedRecord`'s
 * (core/network/cascade.ts).
 *
 * @module
 */
import { Schema } from "effect"
import { isHoloHash } from "../hash/mod.ts"
import {
  type Action,
  ActionSchema,
  type Entry,
  MAX_ENTRY_BYTES,
  type Record,
} from "../types/mod.ts"

const decodeAction = Schema.decodeUnknownExit(ActionSchema)

/** Entry types whose entries stay on their author's chain. */
export function isPrivateEntryType(action: Action): boolean {
  if (action.type !== "create" && action.type !== "update") return false
  const type = action.entry_type
  return type.type === "cap_grant" || type.type === "cap_claim" ||
    (type.type === "app" && type.visibility === "private")
}

/** The record as it may leave this conductor: without a private entry. */
export function publicRecord(record: Record): Record {
  return isPrivateEntryType(record.action) && record.entry !== null
    ? { ...record, entry: null }
    : record
}

/** Decodes an untrusted record body; a string says what is wrong. */
export function decodeRecord(body: unknown): Record | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "not a map"
  const fields = body as { [key: string]: unknown }
  const actionHash = fields.action_hash
  const signature = fields.signature
  if (!isHoloHash(actionHash, "action")) return "action_hash is not an action hash"
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return "bad signature bytes"
  const action = decodeAction(fields.action)
  if (action._tag === "Failure") return `bad action: ${String(action.cause).slice(0, 200)}`
  const raw = fields.entry ?? null
  let entry: Entry | null = null
  if (raw !== null) {
    if (typeof raw !== "object" || Array.isArray(raw)) return "entry is not a map"
    const e = raw as { [key: string]: unknown }
    if (e.entry_type === "app" && e.entry instanceof Uint8Array) {
      if (e.entry.length > MAX_ENTRY_BYTES) return `entry larger than ${MAX_ENTRY_BYTES} bytes`
      entry = { entry_type: "app", entry: e.entry }
    } else if (e.entry_type === "agent" && isHoloHash(e.entry, "agent")) {
      entry = { entry_type: "agent", entry: e.entry }
    } else {
      return "entry is neither an app entry nor an agent key"
    }
  }
  return {
    action_hash: actionHash,
    action: action.value as Action,
    signature,
    entry,
  }
}
