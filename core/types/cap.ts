/**
 * Capability grants and claims (conductor-api.md §5, abi.md §3.2): who may call which zome
 * functions of a cell. Pure types, schemas and the grant check; storage of live grants is the
 * source chain's business.
 *
 * @module
 */
import { Schema } from "effect"
import { bytesEqual } from "../hash/mod.ts"
import type { AgentPubKey } from "../hash/mod.ts"
import { AgentPubKeySchema, CapSecretSchema } from "./schemas.ts"

export const CapAccessSchema = Schema.Union([
  Schema.Struct({ type: Schema.Literal("unrestricted") }),
  Schema.Struct({
    type: Schema.Literal("transferable"),
    value: Schema.Struct({ secret: CapSecretSchema }),
  }),
  Schema.Struct({
    type: Schema.Literal("assigned"),
    value: Schema.Struct({ secret: CapSecretSchema, assignees: Schema.Array(AgentPubKeySchema) }),
  }),
])
export type CapAccess = typeof CapAccessSchema.Type

export const GrantedFunctionsSchema = Schema.Union([
  Schema.Struct({ type: Schema.Literal("all") }),
  Schema.Struct({
    type: Schema.Literal("listed"),
    value: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  }),
])
export type GrantedFunctions = typeof GrantedFunctionsSchema.Type

/** `ZomeCallCapGrant`: the content of a `cap_grant` entry. */
export const CapGrantSchema = Schema.Struct({
  tag: Schema.String,
  access: CapAccessSchema,
  functions: GrantedFunctionsSchema,
})
export type CapGrant = typeof CapGrantSchema.Type

/** The content of a `cap_claim` entry: a secret someone granted us. */
export const CapClaimSchema = Schema.Struct({
  tag: Schema.String,
  grantor: AgentPubKeySchema,
  secret: CapSecretSchema,
})
export type CapClaim = typeof CapClaimSchema.Type

/** Canonical key order for hashing a grant. */
export function canonicalCapGrant(grant: CapGrant): CapGrant {
  const access: CapAccess = grant.access.type === "unrestricted"
    ? { type: "unrestricted" }
    : grant.access.type === "transferable"
    ? { type: "transferable", value: { secret: grant.access.value.secret } }
    : {
      type: "assigned",
      value: { secret: grant.access.value.secret, assignees: grant.access.value.assignees },
    }
  const functions: GrantedFunctions = grant.functions.type === "all"
    ? { type: "all" }
    : { type: "listed", value: grant.functions.value.map(([z, f]) => [z, f] as const) }
  return { tag: grant.tag, access, functions }
}

/** True when `functions` covers `zome`/`fn`. */
export function grantsFunction(functions: GrantedFunctions, zome: string, fn: string): boolean {
  return functions.type === "all" || functions.value.some(([z, f]) => z === zome && f === fn)
}

/**
 * Holochain's `CapGrant::is_valid` for a remote agent: the function is granted, and the access
 * is unrestricted, or transferable with the same secret, or assigned with the same secret to a
 * list that contains `provenance` (full 39-byte equality).
 */
export function grantAllows(
  grant: CapGrant,
  call: {
    readonly zome: string
    readonly fn: string
    readonly provenance: AgentPubKey
    readonly secret: Uint8Array | null
  },
): boolean {
  if (!grantsFunction(grant.functions, call.zome, call.fn)) return false
  switch (grant.access.type) {
    case "unrestricted":
      return true
    case "transferable":
      return call.secret !== null && bytesEqual(call.secret, grant.access.value.secret)
    case "assigned":
      return call.secret !== null && bytesEqual(call.secret, grant.access.value.secret) &&
        grant.access.value.assignees.some((a) => bytesEqual(a, call.provenance))
  }
}
