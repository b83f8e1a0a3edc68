import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { agentInfo } from "./agent_info.ts"
import { committedPost, expectAllowedIn, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "agent_info_1 answers the cell's agent and its chain head",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "first")
      const ctx = yield* cell.context("post_commit")
      assertEquals(yield* run(agentInfo, ctx, null), {
        "agent_initial_pubkey": cell.agent,
        "agent_latest_pubkey": cell.agent,
        "chain_head": {
          "action_hash": post.action_hash,
          "action_seq": 3,
          timestamp: post.action.timestamp,
        },
      })
    }),
)

hostFnTest(
  "agent_info_1 sees the call's own uncommitted writes as the head",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const ws = ctx.workspace!
      const entry = { "entry_type": "app", entry: new Uint8Array([1]) } as const
      const pending = ws.append({
        type: "create",
        "entry_type": { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" },
        "entry_hash": ws.entryHash(entry),
      }, entry)
      const info = (yield* run(agentInfo, ctx, null)) as { "chain_head": { "action_seq": number } }
      assertEquals(info.chain_head, {
        "action_hash": pending.record.action_hash,
        "action_seq": 3,
        timestamp: pending.record.action.timestamp,
      })
    }),
)

hostFnTest(
  "agent_info_1 runs only in calls, not in validation",
  (cell) => expectAllowedIn(agentInfo, cell, ["zome_call", "init", "post_commit"], null),
)
