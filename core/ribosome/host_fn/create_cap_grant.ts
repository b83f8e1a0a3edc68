/**
 * `create_cap_grant_1`: writes a capability grant to the running cell's chain (abi.md §4.3).
 * Grants are private entries; they authorise zome calls from other agents (conductor-api.md §3.2).
 *
 * @module
 */
import { Effect } from "effect"
import { CapGrantSchema, type Entry } from "../../types/mod.ts"
import { defineHostFn, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { requireWorkspace } from "./support.ts"

export const createCapGrant = defineHostFn({
  name: "create_cap_grant_1",
  input: CapGrantSchema,
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, grant) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "create_cap_grant_1")
      const entry: Entry = { "entry_type": "cap_grant", entry: grant }
      return ws.append(
        { type: "create", "entry_type": { type: "cap_grant" }, "entry_hash": ws.entryHash(entry) },
        entry,
        true,
      )
        .record.action_hash
    }),
})
