/**
 * `create_link_1`: links a base to a target with a named link type and a tag (abi.md §4.3).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { AnyLinkableHashSchema } from "../../types/mod.ts"
import { defineHostFn, HostFnError, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { requireWorkspace, resolveLinkType } from "./support.ts"

/** Largest link tag, in bytes (Holochain's limit). */
export const MAX_TAG_BYTES = 1024

export const createLink = defineHostFn({
  name: "create_link_1",
  input: Schema.Struct({
    base: AnyLinkableHashSchema,
    target: AnyLinkableHashSchema,
    "link_type": Schema.String,
    tag: Schema.optionalKey(Schema.NullOr(Schema.Uint8Array)),
    zome: Schema.optionalKey(Schema.NullOr(Schema.String)),
  }),
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "create_link_1")
      const tag = input.tag ?? new Uint8Array(0)
      if (tag.length > MAX_TAG_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `create_link_1: tag of ${tag.length} bytes is over the ${MAX_TAG_BYTES}-byte limit`,
        })
      }
      const { zome, index } = yield* resolveLinkType(ctx, input.link_type, input.zome)
      const appended = ws.append({
        type: "create_link",
        "base_address": input.base,
        "target_address": input.target,
        "zome_index": zome.index,
        "link_type": index,
        tag,
      }, null)
      return appended.record.action_hash
    }),
})
