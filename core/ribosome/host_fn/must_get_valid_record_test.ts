import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { recordWire } from "../../types/mod.ts"
import { mustGetValidRecord } from "./must_get_valid_record.ts"
import {
  committedPost,
  expectAllowedIn,
  expectError,
  expectUnresolved,
  hostFnTest,
  run,
} from "./test_support.ts"

hostFnTest(
  "must_get_valid_record_1 answers a committed record with its entry",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "valid")
      for (const kind of ["zome_call", "validate"] as const) {
        assertEquals(
          yield* run(mustGetValidRecord, yield* cell.context(kind), { hash: post.action_hash }),
          recordWire(post),
        )
      }
    }),
)

hostFnTest(
  "must_get_valid_record_1 is not_found in a call and unresolved in validation",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "x")
      const hash = new Uint8Array(post.action_hash)
      hash[30]! ^= 1
      yield* expectError(mustGetValidRecord, yield* cell.context(), { hash }, "not_found", "record")
      const validate = yield* cell.context("validate")
      yield* expectUnresolved(mustGetValidRecord, validate, { hash })
      assertEquals(validate.unresolved, [hash])
      const entryHash = (yield* cell.context()).workspace!.entryHash(post.entry!)
      yield* expectError(mustGetValidRecord, validate, { hash: entryHash }, "invalid_input")
    }),
)

hostFnTest(
  "must_get_valid_record_1 runs in calls and validation",
  (cell) =>
    expectAllowedIn(mustGetValidRecord, cell, ["zome_call", "init", "post_commit", "validate"], {
      hash: cell.genesis[0]!.action_hash,
    }),
)
