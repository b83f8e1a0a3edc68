/**
 * `delete_link_1`: removes a link by the hash of its `create_link` action (abi.md §4.3).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { ActionHashSchema } from "../../types/mod.ts"
import { defineHostFn, HostFnError, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { findAction, notFound, requireWorkspace } from "./support.ts"

export const deleteLink = defineHostFn({
  name: "delete_link_1",
  input: Schema.Struct({ "create_link_hash": ActionHashSchema }),
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "delete_link_1")
      const target = yield* findAction(ctx, input.create_link_hash)
      if (target === null) return yield* notFound("delete_link_1: link", input.create_link_hash)
      if (target.action.type !== "create_link") {
        return yield* new HostFnError({
          kind: "invalid",
          detail: `delete_link_1: ${target.action.type} is not a create_link action`,
        })
      }
      const appended = ws.append({
        type: "delete_link",
        "base_address": target.action.base_address,
        "link_add_address": target.action_hash,
      }, null)
      return appended.record.action_hash
    }),
})
