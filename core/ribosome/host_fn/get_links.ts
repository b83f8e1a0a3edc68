/**
 * `get_links_1`: live links from a base, optionally by type name, tag prefix and author, oldest
 * first, including the call's own uncommitted links (abi.md §4.4).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual } from "../../hash/mod.ts"
import { type LinkRow, Spaces } from "../../space/mod.ts"
import { AgentPubKeySchema, AnyLinkableHashSchema } from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { internal, linkWire, resolveLinkType, typesZome } from "./support.ts"

export const getLinks = defineHostFn({
  name: "get_links_1",
  input: Schema.Struct({
    base: AnyLinkableHashSchema,
    "link_type": Schema.optionalKey(Schema.NullOr(Schema.String)),
    "tag_prefix": Schema.optionalKey(Schema.NullOr(Schema.Uint8Array)),
    author: Schema.optionalKey(Schema.NullOr(AgentPubKeySchema)),
    zome: Schema.optionalKey(Schema.NullOr(Schema.String)),
  }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const spaces = yield* Spaces
      // A type name narrows to one type; no name means every link type of the integrity zome.
      const types: ReadonlyArray<readonly [number, number]> = input.link_type
        ? yield* Effect.map(
          resolveLinkType(ctx, input.link_type, input.zome),
          ({ zome, index }) => [[zome.index, index] as const],
        )
        : yield* Effect.map(typesZome(ctx, input.zome), (zome) =>
          zome.linkTypes.map((_, i) => [zome.index, i] as const))
      const query = {
        base: input.base,
        types,
        ...(input.tag_prefix ? { tagPrefix: input.tag_prefix } : {}),
        ...(input.author ? { author: input.author } : {}),
      }
      const committed = yield* Effect.mapError(spaces.getLinks(ctx.cell.dna.hash, query), internal)
      const pending = ctx.workspace?.pending.map((p) =>
        p.record
      ) ?? []
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
      return [...committed, ...added]
        .filter((link) => !removed.has(link.createLinkHash.join()))
        .map((link) => linkWire(ctx, link))
    }),
})
