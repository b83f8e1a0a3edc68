/**
 * Helpers shared by host functions: type-name resolution against the DNA's integrity zomes,
 * reads that see the call's own uncommitted writes first, and error mapping. Private to
 * `host_fn/`.
 *
 * @module
 */
import { Effect } from "effect"
import type { Workspace } from "../../chain/mod.ts"
import { bytesEqual, encodeHashB64, hashTypeOf } from "../../hash/mod.ts"
import { type LinkRow, Spaces } from "../../space/mod.ts"
import type { StoreError } from "../../store/mod.ts"
import type { Record, SignedAction } from "../../types/mod.ts"
import { type IntegrityZome, typesZomeFor } from "../../ribosome_store/mod.ts"
import type { HostCallContext } from "../context.ts"
import { HostFnError } from "./host_fn.ts"

/** Maps a storage failure to the ABI's `internal` kind. */
export const internal = (error: StoreError) =>
  new HostFnError({ kind: "internal", detail: error.message })

/**
 * The workspace to write to, or `denied` where there is none. Takes the cell's write lock first
 * (`ctx.beginWrite`), so every write host function must get its workspace here.
 */
export function requireWorkspace(
  ctx: HostCallContext,
  fn: string,
): Effect.Effect<Workspace, HostFnError> {
  if (ctx.workspace === null) {
    return Effect.fail(
      new HostFnError({ kind: "denied", detail: `${fn} needs a zome call that can write` }),
    )
  }
  return ctx.beginWrite === undefined ? Effect.succeed(ctx.workspace) : ctx.beginWrite()
}

/** The integrity zome whose types a name refers to. */
export function typesZome(
  ctx: HostCallContext,
  explicit: string | null | undefined,
): Effect.Effect<IntegrityZome, HostFnError> {
  const zome = typesZomeFor(ctx.cell.dna, ctx.zome, explicit)
  if (zome !== undefined) return Effect.succeed(zome)
  return Effect.fail(
    new HostFnError({
      kind: "not_found",
      detail: explicit
        ? `no integrity zome named "${explicit}" in DNA ${ctx.cell.dna.name}`
        : `zome "${ctx.zome.name}" has no integrity zome to take type names from; name one with "zome"`,
    }),
  )
}

/** Resolves an entry type name to its indices. */
export function resolveEntryType(ctx: HostCallContext, name: string, explicit?: string | null) {
  return Effect.flatMap(typesZome(ctx, explicit), (zome) => {
    const index = zome.entryDefs.findIndex((d) => d.name === name)
    return index < 0
      ? Effect.fail(
        new HostFnError({
          kind: "not_found",
          detail: `integrity zome "${zome.name}" has no entry type "${name}" (it has: ${
            zome.entryDefs.map((d) => d.name).join(", ") || "none"
          })`,
        }),
      )
      : Effect.succeed({ zome, index, def: zome.entryDefs[index]! })
  })
}

/** Resolves a link type name to its indices. */
export function resolveLinkType(ctx: HostCallContext, name: string, explicit?: string | null) {
  return Effect.flatMap(typesZome(ctx, explicit), (zome) => {
    const index = zome.linkTypes.indexOf(name)
    return index < 0
      ? Effect.fail(
        new HostFnError({
          kind: "not_found",
          detail: `integrity zome "${zome.name}" has no link type "${name}" (it has: ${
            zome.linkTypes.join(", ") || "none"
          })`,
        }),
      )
      : Effect.succeed({ zome, index })
  })
}

/** A record by action or entry hash, seeing the call's uncommitted writes first. */
export function findRecord(ctx: HostCallContext, hash: Uint8Array) {
  return Effect.gen(function* () {
    const ws = ctx.workspace
    if (ws !== null) {
      const pending = hashTypeOf(hash) === "action" ? ws.findAction(hash) : ws.findByEntry(hash)[0]
      if (pending !== undefined) return pending.record as Record
    }
    const spaces = yield* Spaces
    return yield* Effect.mapError(spaces.get(ctx.cell.dna.hash, hash, ctx.cell.agent), internal)
  })
}

/** A signed action by hash, seeing the call's uncommitted writes first. */
export function findAction(ctx: HostCallContext, hash: Uint8Array) {
  return Effect.gen(function* () {
    const pending = ctx.workspace?.findAction(hash)
    if (pending !== undefined) return pending.record as SignedAction
    const spaces = yield* Spaces
    return yield* Effect.mapError(spaces.getAction(ctx.cell.dna.hash, hash), internal)
  })
}

/** `not_found` naming the hash. */
export function notFound(what: string, hash: Uint8Array) {
  return new HostFnError({ kind: "not_found", detail: `${what} ${encodeHashB64(hash)} not found` })
}

/** A link as the ABI returns it (abi.md §3.3). */
export function linkWire(ctx: HostCallContext, link: LinkRow) {
  const zome = ctx.cell.dna.integrity[link.zomeIndex]
  return {
    "create_link_hash": link.createLinkHash,
    author: link.author,
    timestamp: link.timestamp,
    base: link.base,
    target: link.target,
    "zome_index": link.zomeIndex,
    "link_type": link.linkType,
    "link_type_name": zome?.linkTypes[link.linkType] ?? "",
    tag: link.tag,
  }
}

/** True when two byte strings are equal. */
export const same = bytesEqual
