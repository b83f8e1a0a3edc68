import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { createLink } from "./create_link.ts"
import { deleteLink } from "./delete_link.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "delete_link_1 appends a delete of the link at its base",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "base")
      const ctx = yield* cell.context()
      const link = (yield* run(createLink, ctx, {
        base: post.action_hash,
        target: cell.agent,
        "link_type": "comments",
      })) as Uint8Array
      const hash = yield* run(deleteLink, ctx, { "create_link_hash": link })
      const record = ctx.workspace!.pending[1]!.record
      assertEquals(record.action_hash, hash)
      assertEquals(record.action.type === "delete_link" && record.action.link_add_address, link)
      assertEquals(
        record.action.type === "delete_link" && record.action.base_address,
        post.action_hash,
      )
    }),
)

hostFnTest(
  "delete_link_1 refuses a missing link and an action that is not a link",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "not a link")
      const ctx = yield* cell.context()
      const missing = new Uint8Array(post.action_hash)
      missing[5]! ^= 1
      yield* expectError(
        deleteLink,
        ctx,
        { "create_link_hash": missing },
        "not_found",
        "delete_link_1",
      )
      yield* expectError(
        deleteLink,
        ctx,
        { "create_link_hash": post.action_hash },
        "invalid",
        "create is not a create_link action",
      )
      yield* expectError(deleteLink, ctx, {}, "invalid_input")
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest("delete_link_1 writes only in zome calls and init", (cell) =>
  Effect.gen(function* () {
    const post = yield* committedPost(cell, "x")
    yield* expectAllowedIn(deleteLink, cell, ["zome_call", "init"], {
      "create_link_hash": post.action_hash,
    })
  }))
