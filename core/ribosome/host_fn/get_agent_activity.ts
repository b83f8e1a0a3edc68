/**
 * `get_agent_activity_1`: an agent's source chain as the DHT knows it (abi.md §4.4). Input
 * `{agent, chain_top?: ActionHash, include_full_actions?: bool, strategy?}`; output
 * `{status: {type: "empty"} | {type: "valid", value: {action_seq, hash}}, valid_activity:
 * [[action_seq, ActionHash]] (oldest first), actions: [SignedAction] (newest first, only with
 * include_full_actions)}`. Without `chain_top` the chain is read from its latest action: this
 * cell's own head for its own agent, otherwise (with the default `strategy: "network"`) the
 * longest verified chain the agent's authorities answer. Every remote chain is verified action
 * by action (hashes, signatures, sequence and `prev_action` links).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual } from "../../hash/mod.ts"
import { Cascade } from "../../network/mod.ts"
import {
  ActionHashSchema,
  AgentPubKeySchema,
  type SignedAction,
  signedActionWire,
} from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { readError, strategyOf, StrategySchema } from "./network_support.ts"

export const getAgentActivity = defineHostFn({
  name: "get_agent_activity_1",
  input: Schema.Struct({
    agent: AgentPubKeySchema,
    "chain_top": Schema.optionalKey(Schema.NullOr(ActionHashSchema)),
    "include_full_actions": Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    strategy: StrategySchema,
  }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const cascade = yield* Cascade
      // The own chain's committed head when no top is named (the call's writes are not activity
      // yet: they are not on the DHT).
      const own = bytesEqual(input.agent, ctx.cell.agent)
        ? (ctx.workspace?.base?.hash ?? null)
        : null
      const top = input.chain_top ?? own
      const actions: ReadonlyArray<SignedAction> = (yield* Effect.mapError(
        cascade.agentActivity(ctx.cell.dna.hash, input.agent, top, strategyOf(ctx, input.strategy)),
        readError,
      )) ?? []
      const head = actions[0]
      return {
        status: head === undefined ? { type: "empty" } : {
          type: "valid",
          value: { "action_seq": head.action.action_seq, hash: head.action_hash },
        },
        "valid_activity": [...actions].reverse().map((a) => [a.action.action_seq, a.action_hash]),
        actions: input.include_full_actions ? actions.map(signedActionWire) : [],
      }
    }),
})
