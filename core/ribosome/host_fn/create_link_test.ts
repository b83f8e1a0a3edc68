import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { createLink, MAX_TAG_BYTES } from "./create_link.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "create_link_1 appends a link of the named type with its tag",
  (cell) =>
    Effect.gen(function* () {
      const post = yield* committedPost(cell, "base")
      const ctx = yield* cell.context()
      const tag = new Uint8Array([1, 2])
      const hash = yield* run(createLink, ctx, {
        base: post.action_hash,
        target: cell.agent,
        "link_type": "likes",
        tag,
      })
      const record = ctx.workspace!.pending[0]!.record
      assertEquals(record.action_hash, hash)
      const action = record.action
      assertEquals(action.type, "create_link")
      if (action.type !== "create_link") return
      assertEquals(
        [
          action.base_address,
          action.target_address,
          action.zome_index,
          action.link_type,
          action.tag,
        ],
        [post.action_hash, cell.agent, 0, 1, tag],
      )
      yield* run(createLink, ctx, { base: cell.agent, target: cell.agent, "link_type": "comments" })
      const second = ctx.workspace!.pending[1]!.record.action
      assertEquals(second.type === "create_link" && [second.link_type, second.tag], [
        0,
        new Uint8Array(),
      ])
    }),
)

hostFnTest(
  "create_link_1 refuses an unknown link type, a long tag and a bad base",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const link = { base: cell.agent, target: cell.agent, "link_type": "comments" }
      yield* expectError(
        createLink,
        ctx,
        { ...link, "link_type": "follows" },
        "not_found",
        '"follows"',
        "comments, likes",
      )
      yield* expectError(
        createLink,
        ctx,
        { ...link, tag: new Uint8Array(MAX_TAG_BYTES + 1) },
        "limit",
        `${MAX_TAG_BYTES}-byte`,
      )
      yield* expectError(createLink, ctx, { ...link, base: new Uint8Array(39) }, "invalid_input")
      yield* expectError(createLink, ctx, { ...link, zome: "posts" }, "not_found", '"posts"')
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest(
  "create_link_1 writes only in zome calls and init",
  (cell) =>
    expectAllowedIn(createLink, cell, ["zome_call", "init"], {
      base: cell.agent,
      target: cell.agent,
      "link_type": "comments",
    }),
)
