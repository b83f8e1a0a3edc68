import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { signedActionWire } from "../../types/mod.ts"
import { deleteEntry } from "./delete.ts"
import { getDetails } from "./get_details.ts"
import { update } from "./update.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "get_details_1 answers a record with its updates and deletes, committed or not",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "v1")
      const first = yield* cell.context()
      yield* run(update, first, { "original_action_hash": post.action_hash, entry: encode("v2") })
      yield* cell.commit(first.workspace!)
      const updateRecord = first.workspace!.pending[0]!.record
      const ctx = yield* cell.context()
      yield* run(deleteEntry, ctx, { "deletes_action_hash": post.action_hash })
      const deleteRecord = ctx.workspace!.pending[0]!.record
      const details = (yield* run(getDetails, ctx, { hash: post.action_hash })) as {
        type: string
        record: { "action_hash": Uint8Array }
        updates: Array<unknown>
        deletes: Array<unknown>
      }
      assertEquals(details.type, "record")
      assertEquals(details.record.action_hash, post.action_hash)
      assertEquals(details.updates, [signedActionWire(updateRecord)])
      assertEquals(details.deletes, [signedActionWire(deleteRecord)])
    }),
)

hostFnTest(
  "get_details_1 answers an entry's actions and whether it is live",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "entry")
      const entryHash = (yield* cell.context()).workspace!.entryHash(post.entry!)
      const live = (yield* run(getDetails, yield* cell.context(), { hash: entryHash })) as {
        type: string
        entry: unknown
        actions: Array<unknown>
        "entry_dht_status": string
      }
      assertEquals([live.type, live.entry, live.entry_dht_status], ["entry", post.entry, "live"])
      assertEquals(live.actions, [signedActionWire(post)])
      const ctx = yield* cell.context()
      yield* run(deleteEntry, ctx, { "deletes_action_hash": post.action_hash })
      const dead = (yield* run(getDetails, ctx, { hash: entryHash })) as {
        "entry_dht_status": string
      }
      assertEquals(dead.entry_dht_status, "dead")
    }),
)

hostFnTest(
  "get_details_1 answers null for a miss and refuses a non-DHT hash",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "x")
      const missing = new Uint8Array(post.action_hash)
      missing[9]! ^= 1
      const ctx = yield* cell.context()
      assertEquals(yield* run(getDetails, ctx, { hash: missing }), null)
      yield* expectError(getDetails, ctx, { hash: cell.agent }, "invalid_input", "get_details_1")
    }),
)

hostFnTest(
  "get_details_1 runs only in calls",
  (cell) =>
    expectAllowedIn(getDetails, cell, ["zome_call", "init", "post_commit"], {
      hash: cell.genesis[0]!.action_hash,
    }),
)
