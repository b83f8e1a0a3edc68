/**
 * `delete_1`: marks a create or update as deleted (abi.md §4.3). Deleting a capability grant
 * revokes it.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { ActionHashSchema } from "../../types/mod.ts"
import { defineHostFn, HostFnError, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { findAction, notFound, requireWorkspace } from "./support.ts"

export const deleteEntry = defineHostFn({
  name: "delete_1",
  input: Schema.Struct({ "deletes_action_hash": ActionHashSchema }),
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "delete_1")
      const target = yield* findAction(ctx, input.deletes_action_hash)
      if (target === null) return yield* notFound("delete_1: action", input.deletes_action_hash)
      const action = target.action
      if (action.type !== "create" && action.type !== "update") {
        return yield* new HostFnError({
          kind: "invalid",
          detail: `delete_1: a ${action.type} action cannot be deleted, only creates and updates`,
        })
      }
      const appended = ws.append({
        type: "delete",
        "deletes_address": target.action_hash,
        "deletes_entry_address": action.entry_hash,
      }, null)
      return appended.record.action_hash
    }),
})
