import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Layer } from "effect"
import { Chain } from "../../chain/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import {
  Cascade,
  localOnlyNetwork,
  Network,
  NetworkError,
  type NetworkShape,
} from "../../network/mod.ts"
import { type SignedAction, signedActionWire } from "../../types/mod.ts"
import { getAgentActivity } from "./get_agent_activity.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

type Activity = {
  status: { type: string; value?: { "action_seq": number; hash: Uint8Array } }
  "valid_activity": Array<[number, Uint8Array]>
  actions: Array<unknown>
}

/** Reads through a Cascade over `network` instead of the local-only one (fresh: not memoized). */
const over = (network: NetworkShape) =>
  Layer.fresh(Cascade.layer).pipe(Layer.provide(Network.layerFrom(network)))

hostFnTest(
  "get_agent_activity_1 answers this agent's committed chain from its head",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "hello")
      const ctx = yield* cell.context()
      const chain = [...cell.genesis, post]
      const activity = (yield* run(getAgentActivity, ctx, { agent: cell.agent })) as Activity
      assertEquals(activity.status, {
        type: "valid",
        value: { "action_seq": 3, hash: post.action_hash },
      })
      assertEquals(
        activity.valid_activity,
        chain.map((r) => [r.action.action_seq, r.action_hash]),
      )
      assertEquals(activity.actions, [])
      const full = (yield* run(getAgentActivity, ctx, {
        agent: cell.agent,
        "chain_top": cell.genesis[1]!.action_hash,
        "include_full_actions": true,
      })) as Activity
      assertEquals(full.valid_activity.map(([seq]) => seq), [0, 1])
      assertEquals(full.actions, [cell.genesis[1]!, cell.genesis[0]!].map(signedActionWire))
    }),
)

hostFnTest(
  "get_agent_activity_1 takes only a whole verified chain from the network",
  (cell) =>
    Effect.gen(function* () {
      const stranger = yield* (yield* Keystore).generate
      const ws = yield* (yield* Chain).open(cell.cell.dna.hash, stranger)
      ws.append({ type: "dna", "dna_hash": cell.cell.dna.hash }, null)
      ws.append({ type: "agent_validation_pkg", "membrane_proof": null }, null)
      const theirs: Array<SignedAction> = ws.pending.map(({ record }) => ({
        action: record.action,
        "action_hash": record.action_hash,
        signature: record.signature,
      })).reverse()
      let answer: ReadonlyArray<SignedAction> = theirs
      const network: NetworkShape = {
        ...localOnlyNetwork,
        agentActivity: () => Effect.sync(() => answer),
      }
      const ctx = yield* cell.context()
      const read = (input: object) =>
        Effect.map(
          Effect.provide(run(getAgentActivity, ctx, input), over(network)),
          (a) => a as Activity,
        )
      const got = yield* read({ agent: stranger })
      assertEquals(got.status.value, { "action_seq": 1, hash: theirs[0]!.action_hash })
      assertEquals(got.valid_activity.map(([seq]) => seq), [0, 1])
      assertEquals((yield* read({ agent: stranger, strategy: "local" })).status, { type: "empty" })
      // A truncated or forged chain is no chain.
      answer = [theirs[0]!]
      assertEquals((yield* read({ agent: stranger })).status, { type: "empty" })
      answer = [{ ...theirs[0]!, signature: new Uint8Array(64) }, theirs[1]!]
      assertEquals((yield* read({ agent: stranger })).status, { type: "empty" })
      // A network that does not answer is a network error for the zome.
      const silent: NetworkShape = {
        ...localOnlyNetwork,
        agentActivity: () =>
          Effect.fail(
            new NetworkError({
              reason: "Timeout",
              operation: "Network.agentActivity",
              detail: "x",
            }),
          ),
      }
      yield* Effect.provide(
        expectError(getAgentActivity, ctx, { agent: stranger }, "network", "agentActivity"),
        over(silent),
      )
    }),
)

hostFnTest(
  "get_agent_activity_1 refuses a bad agent, chain top or strategy",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(getAgentActivity, ctx, { agent: new Uint8Array(39) }, "invalid_input")
      yield* expectError(
        getAgentActivity,
        ctx,
        { agent: cell.agent, "chain_top": cell.agent },
        "invalid_input",
        "get_agent_activity_1",
      )
      yield* expectError(
        getAgentActivity,
        ctx,
        { agent: cell.agent, strategy: "anywhere" },
        "invalid_input",
      )
    }),
)

hostFnTest(
  "get_agent_activity_1 runs only in calls",
  (cell) =>
    expectAllowedIn(getAgentActivity, cell, ["zome_call", "init", "post_commit"], {
      agent: cell.agent,
    }),
)
