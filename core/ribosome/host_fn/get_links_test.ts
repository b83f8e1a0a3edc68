import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { Keystore } from "../../keystore/mod.ts"
import { createLink } from "./create_link.ts"
import { deleteLink } from "./delete_link.ts"
import { getLinks } from "./get_links.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

type Link = { "create_link_hash": Uint8Array; "link_type_name": string; tag: Uint8Array }

hostFnTest(
  "get_links_1 answers committed and pending links, filtered by type and tag",
  (cell) =>
    Effect.gen(function* () {
      const base = (yield* committedPost(cell, "base")).action_hash
      const other = yield* (yield* Keystore).generate
      const first = yield* cell.context()
      const link = (type: string, tag: Array<number>) =>
        run(createLink, first, { base, target: other, "link_type": type, tag: new Uint8Array(tag) })
      const a = yield* link("comments", [1, 1])
      const b = yield* link("comments", [2])
      const c = yield* link("likes", [1])
      yield* cell.commit(first.workspace!)
      const ctx = yield* cell.context()
      const d = yield* run(createLink, ctx, {
        base,
        target: other,
        "link_type": "comments",
        tag: new Uint8Array([1, 2]),
      })
      const hashes = (links: unknown) => (links as Array<Link>).map((l) => l.create_link_hash)
      assertEquals(hashes(yield* run(getLinks, ctx, { base, "link_type": "comments" })), [a, b, d])
      assertEquals(hashes(yield* run(getLinks, ctx, { base })), [a, b, c, d])
      assertEquals(
        hashes(
          yield* run(getLinks, ctx, {
            base,
            "link_type": "comments",
            "tag_prefix": new Uint8Array([1]),
          }),
        ),
        [a, d],
      )
      assertEquals(hashes(yield* run(getLinks, ctx, { base, author: other })), [])
      const likes = (yield* run(getLinks, ctx, { base, "link_type": "likes" })) as Array<Link>
      assertEquals(likes.map((l) => [l.link_type_name, l.tag]), [["likes", new Uint8Array([1])]])
      // A delete in the same call hides the link at once.
      yield* run(deleteLink, ctx, { "create_link_hash": a })
      assertEquals(hashes(yield* run(getLinks, ctx, { base, "link_type": "comments" })), [b, d])
      assertEquals(hashes(yield* run(getLinks, ctx, { base: other })), [])
    }),
)

hostFnTest(
  "get_links_1 names an unknown link type and refuses a bad base",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(
        getLinks,
        ctx,
        { base: cell.agent, "link_type": "follows" },
        "not_found",
        '"follows"',
      )
      yield* expectError(getLinks, ctx, { base: new Uint8Array(3) }, "invalid_input", "get_links_1")
    }),
)

hostFnTest(
  "get_links_1 runs only in calls",
  (cell) =>
    expectAllowedIn(getLinks, cell, ["zome_call", "init", "post_commit"], { base: cell.agent }),
)
