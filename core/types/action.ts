/**
 * Actions (abi.md §3.1): the signed, hash-linked records of a source chain. Owns the types, the
 * canonical msgpack encoding that hashes and signatures are computed over, and a schema for
 * decoding actions from untrusted sources. Building and committing actions is the source
 * chain's job.
 *
 * @module
 */
import { Schema } from "effect"
import { encode } from "../codec/mod.ts"
import type { ActionHash, AgentPubKey, AnyLinkableHash, DnaHash, EntryHash } from "../hash/mod.ts"
import {
  ActionHashSchema,
  AgentPubKeySchema,
  AnyLinkableHashSchema,
  DnaHashSchema,
  EntryHashSchema,
} from "./schemas.ts"

export type EntryVisibility = "public" | "private"

export type EntryType =
  | {
    readonly type: "app"
    readonly zome_index: number
    readonly entry_index: number
    readonly visibility: EntryVisibility
  }
  | { readonly type: "agent_pub_key" }
  | { readonly type: "cap_grant" }
  | { readonly type: "cap_claim" }

type ActionCommon = {
  readonly author: AgentPubKey
  readonly timestamp: number
  readonly "action_seq": number
  readonly "prev_action": ActionHash | null
}

export type DnaAction = ActionCommon & { readonly type: "dna"; readonly dna_hash: DnaHash }
export type AgentValidationPkgAction = ActionCommon & {
  readonly type: "agent_validation_pkg"
  readonly membrane_proof: Uint8Array | null
}
export type InitZomesCompleteAction = ActionCommon & { readonly type: "init_zomes_complete" }
export type CreateAction = ActionCommon & {
  readonly type: "create"
  readonly entry_type: EntryType
  readonly entry_hash: EntryHash
}
export type UpdateAction = ActionCommon & {
  readonly type: "update"
  readonly entry_type: EntryType
  readonly entry_hash: EntryHash
  readonly original_action_address: ActionHash
  readonly original_entry_address: EntryHash
}
export type DeleteAction = ActionCommon & {
  readonly type: "delete"
  readonly deletes_address: ActionHash
  readonly deletes_entry_address: EntryHash
}
export type CreateLinkAction = ActionCommon & {
  readonly type: "create_link"
  readonly base_address: AnyLinkableHash
  readonly target_address: AnyLinkableHash
  readonly zome_index: number
  readonly link_type: number
  readonly tag: Uint8Array
}
export type DeleteLinkAction = ActionCommon & {
  readonly type: "delete_link"
  readonly base_address: AnyLinkableHash
  readonly link_add_address: ActionHash
}

export type Action =
  | DnaAction
  | AgentValidationPkgAction
  | InitZomesCompleteAction
  | CreateAction
  | UpdateAction
  | DeleteAction
  | CreateLinkAction
  | DeleteLinkAction

export type ActionType = Action["type"]
/** Actions that carry an entry. */
export type NewEntryAction = CreateAction | UpdateAction

export const ACTION_TYPES: ReadonlyArray<ActionType> = [
  "dna",
  "agent_validation_pkg",
  "init_zomes_complete",
  "create",
  "update",
  "delete",
  "create_link",
  "delete_link",
]

function canonicalEntryType(entryType: EntryType): EntryType {
  return entryType.type === "app"
    ? {
      type: "app",
      zome_index: entryType.zome_index,
      entry_index: entryType.entry_index,
      visibility: entryType.visibility,
    }
    : { type: entryType.type }
}

/** The action with its keys in the canonical order of abi.md §3.1. */
export function canonicalAction(action: Action): Action {
  const common = {
    type: action.type,
    author: action.author,
    timestamp: action.timestamp,
    "action_seq": action.action_seq,
    "prev_action": action.prev_action,
  }
  switch (action.type) {
    case "dna":
      return { ...common, type: "dna", dna_hash: action.dna_hash }
    case "agent_validation_pkg":
      return { ...common, type: "agent_validation_pkg", membrane_proof: action.membrane_proof }
    case "init_zomes_complete":
      return { ...common, type: "init_zomes_complete" }
    case "create":
      return {
        ...common,
        type: "create",
        entry_type: canonicalEntryType(action.entry_type),
        entry_hash: action.entry_hash,
      }
    case "update":
      return {
        ...common,
        type: "update",
        entry_type: canonicalEntryType(action.entry_type),
        entry_hash: action.entry_hash,
        original_action_address: action.original_action_address,
        original_entry_address: action.original_entry_address,
      }
    case "delete":
      return {
        ...common,
        type: "delete",
        deletes_address: action.deletes_address,
        deletes_entry_address: action.deletes_entry_address,
      }
    case "create_link":
      return {
        ...common,
        type: "create_link",
        base_address: action.base_address,
        target_address: action.target_address,
        zome_index: action.zome_index,
        link_type: action.link_type,
        tag: action.tag,
      }
    case "delete_link":
      return {
        ...common,
        type: "delete_link",
        base_address: action.base_address,
        link_add_address: action.link_add_address,
      }
  }
}

/** The bytes an action's hash and signature are computed over. */
export function encodeAction(action: Action): Uint8Array {
  return encode(canonicalAction(action))
}

const Int = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const EntryTypeSchema = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("app"),
    zome_index: Int,
    entry_index: Int,
    visibility: Schema.Literals(["public", "private"]),
  }),
  Schema.Struct({ type: Schema.Literal("agent_pub_key") }),
  Schema.Struct({ type: Schema.Literal("cap_grant") }),
  Schema.Struct({ type: Schema.Literal("cap_claim") }),
])

const common = {
  author: AgentPubKeySchema,
  timestamp: Schema.Int,
  "action_seq": Int,
  "prev_action": Schema.NullOr(ActionHashSchema),
}

/** Decodes an action from untrusted msgpack (guest input, peers). */
export const ActionSchema = Schema.Union([
  Schema.Struct({ type: Schema.Literal("dna"), ...common, dna_hash: DnaHashSchema }),
  Schema.Struct({
    type: Schema.Literal("agent_validation_pkg"),
    ...common,
    membrane_proof: Schema.NullOr(Schema.Uint8Array),
  }),
  Schema.Struct({ type: Schema.Literal("init_zomes_complete"), ...common }),
  Schema.Struct({
    type: Schema.Literal("create"),
    ...common,
    entry_type: EntryTypeSchema,
    entry_hash: EntryHashSchema,
  }),
  Schema.Struct({
    type: Schema.Literal("update"),
    ...common,
    entry_type: EntryTypeSchema,
    entry_hash: EntryHashSchema,
    original_action_address: ActionHashSchema,
    original_entry_address: EntryHashSchema,
  }),
  Schema.Struct({
    type: Schema.Literal("delete"),
    ...common,
    deletes_address: ActionHashSchema,
    deletes_entry_address: EntryHashSchema,
  }),
  Schema.Struct({
    type: Schema.Literal("create_link"),
    ...common,
    base_address: AnyLinkableHashSchema,
    target_address: AnyLinkableHashSchema,
    zome_index: Int,
    link_type: Int,
    tag: Schema.Uint8Array,
  }),
  Schema.Struct({
    type: Schema.Literal("delete_link"),
    ...common,
    base_address: AnyLinkableHashSchema,
    link_add_address: ActionHashSchema,
  }),
])
