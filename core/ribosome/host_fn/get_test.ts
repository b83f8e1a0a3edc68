import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { create } from "./create.ts"
import { get } from "./get.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "get_1 finds a committed record by action hash and by entry hash",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "hello")
      const ctx = yield* cell.context()
      const wire = {
        "action_hash": post.action_hash,
        action: post.action,
        signature: post.signature,
        entry: post.entry,
      }
      assertEquals(yield* run(get, ctx, { hash: post.action_hash }), wire)
      const entryHash = ctx.workspace!.entryHash(post.entry!)
      assertEquals(yield* run(get, ctx, { hash: entryHash }), wire)
    }),
)

hostFnTest(
  "get_1 sees the call's own uncommitted writes and answers null for a miss",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const hash =
        (yield* run(create, ctx, { "entry_type": "post", entry: encode("draft") })) as Uint8Array
      const found = (yield* run(get, ctx, { hash })) as { "action_hash": Uint8Array }
      assertEquals(found.action_hash, hash)
      assertEquals(yield* run(get, yield* cell.context(), { hash }), null) // another call
      yield* expectError(get, ctx, { hash: cell.agent }, "invalid_input", "get_1")
    }),
)

hostFnTest(
  "get_1 runs only in calls; validation uses must_get_*",
  (cell) =>
    expectAllowedIn(get, cell, ["zome_call", "init", "post_commit"], {
      hash: cell.genesis[0]!.action_hash,
    }),
)
