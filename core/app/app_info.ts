/**
 * The app, cell and status shapes of conductor-api.md §8, as the conductor stores them and as
 * both the admin and app interfaces send them. Pure types and builders.
 *
 * @module
 */
import type { AgentPubKey, DnaHash } from "../hash/mod.ts"
import type { CellId } from "../types/mod.ts"

/** Why an app is disabled. */
export type DisabledAppReason =
  | { readonly type: "never_started" }
  | { readonly type: "not_started_after_providing_memproofs" }
  | { readonly type: "user" }
  | { readonly type: "error"; readonly value: string }

/** An app's status. */
export type AppStatus =
  | { readonly type: "enabled" }
  | { readonly type: "disabled"; readonly value: DisabledAppReason }
  | { readonly type: "awaiting_memproofs" }

/** `AppStatusFilter` values. */
export type AppStatusFilter =
  | "enabled"
  | "disabled"
  | "awaiting_memproofs"
  | "awaiting_restore"
  | "unrecoverable"

/** DNA modifiers on the wire: `properties` are msgpack bytes. */
export type WireDnaModifiers = {
  readonly "network_seed": string
  readonly properties: Uint8Array
}

/** A role's own cell. */
export type ProvisionedCell = {
  readonly "cell_id": CellId
  readonly "dna_modifiers": WireDnaModifiers
  readonly name: string
}

/** A clone of a role's cell. */
export type ClonedCell = {
  readonly "cell_id": CellId
  readonly "clone_id": string
  readonly "original_dna_hash": DnaHash
  readonly "dna_modifiers": WireDnaModifiers
  readonly name: string
  readonly enabled: boolean
}

/** One entry of `AppInfo.cell_info[role]`. */
export type CellInfo =
  | { readonly type: "provisioned"; readonly value: ProvisionedCell }
  | { readonly type: "cloned"; readonly value: ClonedCell }

/** `AppInfo`. */
export type AppInfo = {
  readonly "installed_app_id": string
  readonly "cell_info": { readonly [role: string]: ReadonlyArray<CellInfo> }
  readonly status: AppStatus
  readonly "agent_pub_key": AgentPubKey
  readonly manifest: unknown
  readonly "installed_at": number
}

/** `CloneCellId`: by clone id (`role.N`) or by DNA hash. */
export type CloneCellId =
  | { readonly type: "clone_id"; readonly value: string }
  | { readonly type: "dna_hash"; readonly value: DnaHash }

/** True when `status` passes `filter`. */
export function statusMatches(status: AppStatus, filter: AppStatusFilter | null): boolean {
  return filter === null || status.type === filter
}
