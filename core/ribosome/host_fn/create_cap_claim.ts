/**
 * `create_cap_claim_1`: stores a secret another agent granted us, as a private entry
 * (abi.md §4.3), so the zome can find it later to call that agent.
 *
 * @module
 */
import { Effect } from "effect"
import { CapClaimSchema, type Entry } from "../../types/mod.ts"
import { defineHostFn, WRITE_FUEL, WRITES } from "./host_fn.ts"
import { requireWorkspace } from "./support.ts"

export const createCapClaim = defineHostFn({
  name: "create_cap_claim_1",
  input: CapClaimSchema,
  allowedIn: WRITES,
  fuel: WRITE_FUEL,
  run: (ctx, claim) =>
    Effect.gen(function* () {
      const ws = yield* requireWorkspace(ctx, "create_cap_claim_1")
      const entry: Entry = { "entry_type": "cap_claim", entry: claim }
      return ws.append(
        { type: "create", "entry_type": { type: "cap_claim" }, "entry_hash": ws.entryHash(entry) },
        entry,
        true,
      )
        .record.action_hash
    }),
})
