import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import { create } from "./create.ts"
import { mustGetAgentActivity } from "./must_get_agent_activity.ts"
import {
  committedPost,
  expectAllowedIn,
  expectError,
  expectUnresolved,
  hostFnTest,
  run,
} from "./test_support.ts"

type Activity = Array<{ action: { "action_seq": number } }>
const seqs = (activity: unknown) => (activity as Activity).map((a) => a.action.action_seq)

hostFnTest(
  "must_get_agent_activity_1 answers the chain from its top down to genesis",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "top")
      const ctx = yield* cell.context("validate")
      const input = { author: cell.agent, "chain_top": post.action_hash }
      assertEquals(seqs(yield* run(mustGetAgentActivity, ctx, input)), [3, 2, 1, 0])
      const mid = { author: cell.agent, "chain_top": cell.genesis[1]!.action_hash }
      assertEquals(seqs(yield* run(mustGetAgentActivity, ctx, mid)), [1, 0])
    }),
)

hostFnTest(
  "must_get_agent_activity_1 puts the call's pending actions on top",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* run(create, ctx, { "entry_type": "post", entry: encode(1) })
      const top =
        (yield* run(create, ctx, { "entry_type": "post", entry: encode(2) })) as Uint8Array
      assertEquals(
        seqs(yield* run(mustGetAgentActivity, ctx, { author: cell.agent, "chain_top": top })),
        [4, 3, 2, 1, 0],
      )
    }),
)

hostFnTest(
  "must_get_agent_activity_1 is not_found or unresolved for an unknown top",
  (cell) =>
    Effect.gen(function* () {
      const other = yield* (yield* Keystore).generate
      const input = { author: other, "chain_top": cell.genesis[0]!.action_hash }
      const top = new Uint8Array(cell.genesis[2]!.action_hash)
      top[15]! ^= 1
      const unknown = { author: cell.agent, "chain_top": top }
      yield* expectError(
        mustGetAgentActivity,
        yield* cell.context(),
        unknown,
        "not_found",
        "chain top",
      )
      const validate = yield* cell.context("validate")
      yield* expectUnresolved(mustGetAgentActivity, validate, unknown)
      assertEquals(validate.unresolved, [top])
      // Another author's chain does not contain this cell's actions.
      yield* expectUnresolved(mustGetAgentActivity, validate, input)
      yield* expectError(
        mustGetAgentActivity,
        validate,
        { author: top, "chain_top": top },
        "invalid_input",
      )
    }),
)

hostFnTest(
  "must_get_agent_activity_1 runs in calls and validation",
  (cell) =>
    expectAllowedIn(mustGetAgentActivity, cell, ["zome_call", "init", "post_commit", "validate"], {
      author: cell.agent,
      "chain_top": cell.genesis[0]!.action_hash,
    }),
)
