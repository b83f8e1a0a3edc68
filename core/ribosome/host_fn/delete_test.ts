import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { deleteEntry } from "./delete.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "delete_1 appends a delete of the action and its entry",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "doomed")
      const ctx = yield* cell.context()
      const hash = yield* run(deleteEntry, ctx, { "deletes_action_hash": post.action_hash })
      const record = ctx.workspace!.pending[0]!.record
      assertEquals(record.action_hash, hash)
      assertEquals(record.entry, null)
      const action = record.action
      assertEquals(action.type, "delete")
      if (action.type !== "delete" || post.action.type !== "create") return
      assertEquals(action.deletes_address, post.action_hash)
      assertEquals(action.deletes_entry_address, post.action.entry_hash)
    }),
)

hostFnTest(
  "delete_1 refuses a missing action and one that is not a create or update",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "x")
      const ctx = yield* cell.context()
      const missing = new Uint8Array(post.action_hash)
      missing[8]! ^= 1
      yield* expectError(
        deleteEntry,
        ctx,
        { "deletes_action_hash": missing },
        "not_found",
        "delete_1",
      )
      const dna = cell.genesis[0]!
      yield* expectError(
        deleteEntry,
        ctx,
        { "deletes_action_hash": dna.action_hash },
        "invalid",
        "a dna action cannot be deleted",
      )
      yield* expectError(deleteEntry, ctx, { "deletes_action_hash": cell.agent }, "invalid_input")
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest("delete_1 writes only in zome calls and init", (cell) =>
  Effect.gen(function* () {
    const post = yield* committedPost(cell, "x")
    yield* expectAllowedIn(deleteEntry, cell, ["zome_call", "init"], {
      "deletes_action_hash": post.action_hash,
    })
  }))
