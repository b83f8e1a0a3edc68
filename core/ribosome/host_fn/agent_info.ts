/**
 * `agent_info_1`: the running cell's agent and chain head (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Chain } from "../../chain/mod.ts"
import { CALLS, defineHostFn } from "./host_fn.ts"

export const agentInfo = defineHostFn({
  name: "agent_info_1",
  input: Schema.Unknown,
  allowedIn: CALLS,
  run: (ctx) =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const head = ctx.workspace?.head ?? chain.head(ctx.cell.dna.hash, ctx.cell.agent)
      return {
        "agent_initial_pubkey": ctx.cell.agent,
        "agent_latest_pubkey": ctx.cell.agent,
        "chain_head": head === null
          ? null
          : { "action_hash": head.hash, "action_seq": head.seq, timestamp: head.timestamp },
      }
    }),
})
