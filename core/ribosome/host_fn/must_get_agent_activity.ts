/**
 * `must_get_agent_activity_1`: an agent's chain from a given top back to its first action,
 * newest first, as a validation dependency (abi.md §4.5). Not held here: a verified chain from
 * the network.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual } from "../../hash/mod.ts"
import { Cascade } from "../../network/mod.ts"
import { ActionHashSchema, AgentPubKeySchema, signedActionWire } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { dependency, readError, strategyOf } from "./network_support.ts"

export const mustGetAgentActivity = defineHostFn({
  name: "must_get_agent_activity_1",
  input: Schema.Struct({ author: AgentPubKeySchema, "chain_top": ActionHashSchema }),
  allowedIn: DEPENDENCIES,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const cascade = yield* Cascade
      // The call's own uncommitted actions sit on top of the committed chain.
      const pending = (ctx.workspace !== null && bytesEqual(ctx.workspace.agent, input.author))
        ? ctx.workspace.pending.map((p) => p.record)
        : []
      const topIndex = pending.findIndex((r) => bytesEqual(r.action_hash, input.chain_top))
      const committedTop = topIndex >= 0 ? (ctx.workspace?.base?.hash ?? null) : input.chain_top
      const committed = committedTop === null ? [] : yield* dependency(
        ctx,
        Effect.mapError(
          cascade.agentActivity(
            ctx.cell.dna.hash,
            input.author,
            committedTop,
            strategyOf(ctx, null),
          ),
          readError,
        ),
      )
      if (committed === null) {
        return yield* missing(ctx, "must_get_agent_activity_1: chain top", input.chain_top)
      }
      return [...pending.slice(0, topIndex + 1).reverse(), ...committed].map(signedActionWire)
    }),
})
