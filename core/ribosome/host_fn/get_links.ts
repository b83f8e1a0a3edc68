/**
 * `get_links_1`: live links from a base, optionally by type name, tag prefix and author, oldest
 * first, including the call's own uncommitted links; with the default `strategy: "network"`, the
 * verified link activity of the base's authorities is merged in (abi.md §4.4).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual } from "../../hash/mod.ts"
import { Cascade } from "../../network/mod.ts"
import type { LinkRow } from "../../space/mod.ts"
import { AgentPubKeySchema, AnyLinkableHashSchema } from "../../types/mod.ts"
import type { HostCallContext } from "../context.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { readError, strategyOf, StrategySchema } from "./network_support.ts"
import { linkWire, resolveLinkType, typesZome } from "./support.ts"

/** The input of `get_links_1` and `count_links_1`. */
export const LinkQueryInput = Schema.Struct({
  base: AnyLinkableHashSchema,
  "link_type": Schema.optionalKey(Schema.NullOr(Schema.String)),
  "tag_prefix": Schema.optionalKey(Schema.NullOr(Schema.Uint8Array)),
  author: Schema.optionalKey(Schema.NullOr(AgentPubKeySchema)),
  zome: Schema.optionalKey(Schema.NullOr(Schema.String)),
  strategy: StrategySchema,
})

/** The live links a query selects, committed and the call's own, oldest first. */
export function liveLinks(ctx: HostCallContext, input: typeof LinkQueryInput.Type) {
  return Effect.gen(function* () {
    const cascade = yield* Cascade
    // A type name narrows to one type; no name means every link type of the integrity zome.
    const types: ReadonlyArray<readonly [number, number]> = input.link_type
      ? yield* Effect.map(
        resolveLinkType(ctx, input.link_type, input.zome),
        ({ zome, index }) => [[zome.index, index] as const],
      )
      : yield* Effect.map(
        typesZome(ctx, input.zome),
        (zome) => zome.linkTypes.map((_, i) => [zome.index, i] as const),
      )
    const query = {
      base: input.base,
      types,
      ...(input.tag_prefix ? { tagPrefix: input.tag_prefix } : {}),
      ...(input.author ? { author: input.author } : {}),
    }
    const committed = yield* Effect.mapError(
      cascade.getLinks(ctx.cell.dna.hash, query, strategyOf(ctx, input.strategy)),
      readError,
    )
    const pending = ctx.workspace?.pending.map((p) => p.record) ?? []
    const removed = new Set(
      pending.flatMap((
        r,
      ) => (r.action.type === "delete_link" ? [r.action.link_add_address.join()] : [])),
    )
    const added: Array<LinkRow> = pending.flatMap((r) => {
      const a = r.action
      if (a.type !== "create_link" || !bytesEqual(a.base_address, input.base)) return []
      if (!types.some(([z, t]) => z === a.zome_index && t === a.link_type)) return []
      if (
        input.tag_prefix &&
        !bytesEqual(a.tag.subarray(0, input.tag_prefix.length), input.tag_prefix)
      ) return []
      if (input.author && !bytesEqual(a.author, input.author)) return []
      return [{
        createLinkHash: r.action_hash,
        author: a.author,
        timestamp: a.timestamp,
        base: a.base_address,
        target: a.target_address,
        zomeIndex: a.zome_index,
        linkType: a.link_type,
        tag: a.tag,
      }]
    })
    return [...committed, ...added].filter((link) => !removed.has(link.createLinkHash.join()))
  })
}

export const getLinks = defineHostFn({
  name: "get_links_1",
  input: LinkQueryInput,
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.map(liveLinks(ctx, input), (links) => links.map((link) => linkWire(ctx, link))),
})
