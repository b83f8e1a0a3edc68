/**
 * DHT ops: the units an action is published and validated as (Holochain's `DhtOp`). Owns which
 * ops an action produces and each op's basis (the hash whose neighbourhood holds it). The local
 * space integrates them at once; a networked space publishes them to the basis' authorities.
 *
 * @module
 */
import type { AgentPubKey, AnyLinkableHash, HoloHash } from "../hash/mod.ts"
import type { Action } from "./action.ts"

export type DhtOpType =
  | "store_record"
  | "store_entry"
  | "register_agent_activity"
  | "register_updated_content"
  | "register_updated_record"
  | "register_deleted_by"
  | "register_deleted_entry_action"
  | "register_add_link"
  | "register_remove_link"

/** Every DHT op type; an op's position here is its stored code. Append only. */
export const DHT_OP_TYPES: ReadonlyArray<DhtOpType> = [
  "store_record",
  "store_entry",
  "register_agent_activity",
  "register_updated_content",
  "register_updated_record",
  "register_deleted_by",
  "register_deleted_entry_action",
  "register_add_link",
  "register_remove_link",
]

/** The validation op types of abi.md §5 that each DHT op is validated as. */
export type ValidationOpType =
  | "store_record"
  | "store_entry"
  | "register_agent_activity"
  | "register_update"
  | "register_delete"
  | "register_create_link"
  | "register_delete_link"

/** One op of an action: its type and basis. */
export interface DhtOpRef {
  readonly type: DhtOpType
  readonly basis: HoloHash | AgentPubKey | AnyLinkableHash
}

/**
 * The ops an action produces. A private entry's `store_entry` is not produced: private
 * entries never leave the author's chain.
 */
export function opsForAction(
  action: Action,
  actionHash: HoloHash<"action">,
  entryIsPublic: boolean,
): ReadonlyArray<DhtOpRef> {
  const ops: Array<DhtOpRef> = [
    { type: "store_record", basis: actionHash },
    { type: "register_agent_activity", basis: action.author },
  ]
  switch (action.type) {
    case "create":
      if (entryIsPublic) ops.push({ type: "store_entry", basis: action.entry_hash })
      break
    case "update":
      if (entryIsPublic) ops.push({ type: "store_entry", basis: action.entry_hash })
      ops.push({ type: "register_updated_content", basis: action.original_entry_address })
      ops.push({ type: "register_updated_record", basis: action.original_action_address })
      break
    case "delete":
      ops.push({ type: "register_deleted_by", basis: action.deletes_address })
      ops.push({ type: "register_deleted_entry_action", basis: action.deletes_entry_address })
      break
    case "create_link":
      ops.push({ type: "register_add_link", basis: action.base_address })
      break
    case "delete_link":
      ops.push({ type: "register_remove_link", basis: action.base_address })
      break
  }
  return ops
}

/** The validation op a DHT op is validated as. */
export function validationOpType(type: DhtOpType): ValidationOpType {
  switch (type) {
    case "register_updated_content":
    case "register_updated_record":
      return "register_update"
    case "register_deleted_by":
    case "register_deleted_entry_action":
      return "register_delete"
    case "register_add_link":
      return "register_create_link"
    case "register_remove_link":
      return "register_delete_link"
    default:
      return type
  }
}
