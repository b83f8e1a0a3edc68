/**
 * `create_1`: writes an app entry of a named type (abi.md §4.3). The write joins the call's
 * workspace; validation and commit happen when the call returns.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { type Entry, MAX_ENTRY_BYTES } from "../../types/mod.ts"
import { defineHostFn, HostFnError, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { requireWorkspace, resolveEntryType } from "./support.ts"

export const create = defineHostFn({
  name: "create_1",
  input: Schema.Struct({
    "entry_type": Schema.String,
    entry: Schema.Uint8Array,
    zome: Schema.optionalKey(Schema.NullOr(Schema.String)),
  }),
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "create_1")
      if (input.entry.length > MAX_ENTRY_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `create_1: entry of ${input.entry.length} bytes is over the ${MAX_ENTRY_BYTES}-byte limit`,
        })
      }
      const { zome, index, def } = yield* resolveEntryType(ctx, input.entry_type, input.zome)
      const entry: Entry = { "entry_type": "app", entry: input.entry }
      const appended = ws.append(
        {
          type: "create",
          "entry_type": {
            type: "app",
            "zome_index": zome.index,
            "entry_index": index,
            visibility: def.visibility,
          },
          "entry_hash": ws.entryHash(entry),
        },
        entry,
        def.visibility === "private",
      )
      return appended.record.action_hash
    }),
})
