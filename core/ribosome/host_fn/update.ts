/**
 * `update_1`: writes a new version of an app entry (abi.md §4.3). The entry type is the
 * original's; the original must be a create or an update.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { type Entry, MAX_ENTRY_BYTES } from "../../types/mod.ts"
import { ActionHashSchema } from "../../types/mod.ts"
import { defineHostFn, HostFnError, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { findAction, notFound, requireWorkspace } from "./support.ts"

export const update = defineHostFn({
  name: "update_1",
  input: Schema.Struct({ "original_action_hash": ActionHashSchema, entry: Schema.Uint8Array }),
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "update_1")
      if (input.entry.length > MAX_ENTRY_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `update_1: entry of ${input.entry.length} bytes is over the ${MAX_ENTRY_BYTES}-byte limit`,
        })
      }
      const original = yield* findAction(ctx, input.original_action_hash)
      if (original === null) {
        return yield* notFound("update_1: original action", input.original_action_hash)
      }
      const action = original.action
      if (
        (action.type !== "create" && action.type !== "update") || action.entry_type.type !== "app"
      ) {
        return yield* new HostFnError({
          kind: "invalid",
          detail:
            `update_1: the original is a ${action.type} action, not the create or update of an app entry`,
        })
      }
      const entry: Entry = { "entry_type": "app", entry: input.entry }
      const appended = ws.append(
        {
          type: "update",
          "entry_type": action.entry_type,
          "entry_hash": ws.entryHash(entry),
          "original_action_address": original.action_hash,
          "original_entry_address": action.entry_hash,
        },
        entry,
        action.entry_type.visibility === "private",
      )
      return appended.record.action_hash
    }),
})
