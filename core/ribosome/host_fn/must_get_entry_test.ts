import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { create } from "./create.ts"
import { mustGetEntry } from "./must_get_entry.ts"
import {
  committedPost,
  expectAllowedIn,
  expectError,
  expectUnresolved,
  hostFnTest,
  run,
} from "./test_support.ts"

hostFnTest(
  "must_get_entry_1 answers a committed entry in calls and in validation",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "entry")
      const hash = (yield* cell.context()).workspace!.entryHash(post.entry!)
      assertEquals(yield* run(mustGetEntry, yield* cell.context(), { hash }), post.entry)
      assertEquals(yield* run(mustGetEntry, yield* cell.context("validate"), { hash }), post.entry)
    }),
)

hostFnTest(
  "must_get_entry_1 sees a pending entry, but a private one not in validation",
  (cell) =>
    Effect.gen(function* () {
      const call = yield* cell.context()
      yield* run(create, call, { "entry_type": "secret", entry: encode("hidden") })
      const pending = call.workspace!.pending[0]!.record
      const hash = call.workspace!.entryHash(pending.entry!)
      assertEquals(yield* run(mustGetEntry, call, { hash }), pending.entry)
      const validate = yield* cell.context("validate", { workspace: call.workspace })
      yield* expectUnresolved(mustGetEntry, validate, { hash })
      assertEquals(validate.unresolved, [hash])
    }),
)

hostFnTest(
  "must_get_entry_1 is not_found in a call and unresolved in validation",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "x")
      const hash = new Uint8Array((yield* cell.context()).workspace!.entryHash(post.entry!))
      hash[12]! ^= 1
      yield* expectError(
        mustGetEntry,
        yield* cell.context(),
        { hash },
        "not_found",
        "must_get_entry_1",
      )
      const validate = yield* cell.context("validate")
      const error = yield* expectUnresolved(mustGetEntry, validate, { hash })
      assertEquals([error.hash, validate.unresolved], [hash, [hash]])
      yield* expectError(mustGetEntry, validate, { hash: post.action_hash }, "invalid_input")
    }),
)

hostFnTest(
  "must_get_entry_1 runs in calls and validation",
  (cell) =>
    expectAllowedIn(mustGetEntry, cell, ["zome_call", "init", "post_commit", "validate"], {
      hash: cell.genesis[2]!.action.type === "create" ? cell.genesis[2]!.action.entry_hash : null,
    }),
)
