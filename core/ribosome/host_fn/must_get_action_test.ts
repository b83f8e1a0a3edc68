import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { signedActionWire } from "../../types/mod.ts"
import { create } from "./create.ts"
import { mustGetAction } from "./must_get_action.ts"
import {
  committedPost,
  expectAllowedIn,
  expectError,
  expectUnresolved,
  hostFnTest,
  run,
} from "./test_support.ts"

hostFnTest(
  "must_get_action_1 answers a committed or pending signed action",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "x")
      const ctx = yield* cell.context()
      assertEquals(
        yield* run(mustGetAction, ctx, { hash: post.action_hash }),
        signedActionWire(post),
      )
      const pending =
        (yield* run(create, ctx, { "entry_type": "post", entry: encode(2) })) as Uint8Array
      const found = (yield* run(mustGetAction, ctx, { hash: pending })) as {
        "action_hash": Uint8Array
        entry?: unknown
      }
      assertEquals(found, signedActionWire(ctx.workspace!.pending[0]!.record))
      assertEquals("entry" in found, false)
    }),
)

hostFnTest(
  "must_get_action_1 is not_found in a call and unresolved in validation",
  (cell) =>
    Effect.gen(function* () {
      const hash = new Uint8Array(cell.genesis[0]!.action_hash)
      hash[20]! ^= 1
      yield* expectError(
        mustGetAction,
        yield* cell.context("post_commit"),
        { hash },
        "not_found",
        "must_get_action_1",
      )
      const validate = yield* cell.context("validate")
      yield* expectUnresolved(mustGetAction, validate, { hash })
      assertEquals(validate.unresolved, [hash])
      yield* expectError(mustGetAction, validate, { hash: cell.agent }, "invalid_input")
    }),
)

hostFnTest(
  "must_get_action_1 runs in calls and validation",
  (cell) =>
    expectAllowedIn(mustGetAction, cell, ["zome_call", "init", "post_commit", "validate"], {
      hash: cell.genesis[0]!.action_hash,
    }),
)
