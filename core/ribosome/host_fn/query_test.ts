import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { create } from "./create.ts"
import { query } from "./query.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

type Wire = { action: { type: string; "action_seq": number }; entry: unknown }
const seqs = (records: unknown) => (records as Array<Wire>).map((r) => r.action.action_seq)

hostFnTest(
  "query_1 answers the cell's own chain with the call's pending writes",
  (cell) =>
    Effect.gen(function* () {
      yield* committedPost(cell, "one")
      const ctx = yield* cell.context()
      yield* run(create, ctx, { "entry_type": "secret", entry: encode("two") })
      assertEquals(seqs(yield* run(query, ctx, {})), [0, 1, 2, 3, 4])
      assertEquals(seqs(yield* run(query, ctx, { descending: true })), [4, 3, 2, 1, 0])
      assertEquals(seqs(yield* run(query, ctx, { "entry_types": ["post"] })), [3])
      assertEquals(seqs(yield* run(query, ctx, { "entry_types": ["secret", "agent_pub_key"] })), [
        2,
        4,
      ])
      assertEquals(seqs(yield* run(query, ctx, { "action_types": ["dna", "create"] })), [
        0,
        2,
        3,
        4,
      ])
      assertEquals(seqs(yield* run(query, ctx, { "seq_range": [1, 4] })), [1, 2, 3])
      const bare =
        (yield* run(query, ctx, { "entry_types": ["post"], "include_entries": false })) as Array<
          Wire
        >
      assertEquals(bare.map((r) => r.entry), [null])
    }),
)

hostFnTest(
  "query_1 names an unknown entry type and refuses an unknown action type",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(query, ctx, { "entry_types": ["comment"] }, "not_found", '"comment"')
      yield* expectError(query, ctx, { "action_types": ["explode"] }, "invalid_input", "query_1")
      yield* expectError(query, ctx, { "seq_range": [1] }, "invalid_input")
    }),
)

hostFnTest(
  "query_1 runs only in calls",
  (cell) => expectAllowedIn(query, cell, ["zome_call", "init", "post_commit"], {}),
)
