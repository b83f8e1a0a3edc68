import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Layer } from "effect"
import { Chain } from "../../chain/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import {
  Cascade,
  localOnlyNetwork,
  Network,
  NetworkError,
  type NetworkShape,
} from "../../network/mod.ts"
import type { SignedAction } from "../../types/mod.ts"
import type { ActionHash } from "../../hash/mod.ts"
import { countLinks } from "./count_links.ts"
import { createLink } from "./create_link.ts"
import { deleteLink } from "./delete_link.ts"
import {
  committedPost,
  expectAllowedIn,
  expectError,
  type HostFnCell,
  hostFnTest,
  run,
} from "./test_support.ts"

/** Reads through a Cascade over `network` instead of the local-only one (fresh: not memoized). */
const over = (network: NetworkShape) =>
  Layer.fresh(Cascade.layer).pipe(Layer.provide(Network.layerFrom(network)))

/** A `comments` link of another agent on `base`, signed but not held here. */
const strangersLink = (cell: HostFnCell, base: ActionHash) =>
  Effect.gen(function* () {
    const chain = yield* Chain
    const stranger = yield* chain.open(cell.cell.dna.hash, yield* (yield* Keystore).generate)
    stranger.append({ type: "dna", "dna_hash": cell.cell.dna.hash }, null)
    const link = stranger.append({
      type: "create_link",
      "base_address": base,
      "target_address": cell.agent,
      "zome_index": 0,
      "link_type": 0,
      tag: new Uint8Array([9]),
    }, null).record
    return { action: link.action, "action_hash": link.action_hash, signature: link.signature }
  })

hostFnTest(
  "count_links_1 counts committed and pending live links, filtered like get_links_1",
  (cell) =>
    Effect.gen(function* () {
      const base = (yield* committedPost(cell, "base")).action_hash
      const first = yield* cell.context()
      const link = (ctx: typeof first, type: string, tag: Array<number>) =>
        run(createLink, ctx, {
          base,
          target: cell.agent,
          "link_type": type,
          tag: new Uint8Array(tag),
        })
      const a = yield* link(first, "comments", [1])
      yield* link(first, "comments", [2])
      yield* link(first, "likes", [1])
      yield* cell.commit(first.workspace!)
      const ctx = yield* cell.context()
      yield* link(ctx, "comments", [1, 2])
      const nobody = yield* (yield* Keystore).generate
      assertEquals(yield* run(countLinks, ctx, { base, "link_type": "comments" }), 3)
      assertEquals(yield* run(countLinks, ctx, { base }), 4)
      assertEquals(
        yield* run(countLinks, ctx, {
          base,
          "link_type": "comments",
          "tag_prefix": new Uint8Array([1]),
        }),
        2,
      )
      assertEquals(yield* run(countLinks, ctx, { base, author: nobody }), 0)
      yield* run(deleteLink, ctx, { "create_link_hash": a })
      assertEquals(yield* run(countLinks, ctx, { base, "link_type": "comments" }), 2)
      assertEquals(yield* run(countLinks, ctx, { base: cell.agent }), 0)
    }),
)

hostFnTest(
  "count_links_1 adds verified links from the network unless the strategy is local",
  (cell) =>
    Effect.gen(function* () {
      const base = (yield* committedPost(cell, "base")).action_hash
      const theirs = yield* strangersLink(cell, base)
      const forged: SignedAction = { ...theirs, signature: new Uint8Array(64) }
      const asked: Array<Uint8Array> = []
      const network: NetworkShape = {
        ...localOnlyNetwork,
        getLinks: (_dna, query) =>
          Effect.sync(() => {
            asked.push(query.base)
            return [theirs, forged]
          }),
      }
      const ctx = yield* cell.context()
      const count = (input: object) => Effect.provide(run(countLinks, ctx, input), over(network))
      assertEquals(yield* count({ base, "link_type": "comments" }), 1)
      assertEquals(asked, [base])
      assertEquals(yield* count({ base, "link_type": "comments", strategy: "local" }), 0)
      assertEquals(yield* count({ base, "link_type": "likes" }), 0)
      assertEquals(asked.length, 2)
      // A network that does not answer leaves the local count (links are absence-sensitive).
      const silent: NetworkShape = {
        ...localOnlyNetwork,
        getLinks: () =>
          Effect.fail(
            new NetworkError({ reason: "Timeout", operation: "Network.getLinks", detail: "test" }),
          ),
      }
      assertEquals(
        yield* Effect.provide(run(countLinks, ctx, { base }), over(silent)),
        0,
      )
    }),
)

hostFnTest(
  "count_links_1 names an unknown link type and refuses a bad base or strategy",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(
        countLinks,
        ctx,
        { base: cell.agent, "link_type": "follows" },
        "not_found",
        '"follows"',
      )
      yield* expectError(countLinks, ctx, { base: new Uint8Array(3) }, "invalid_input")
      yield* expectError(
        countLinks,
        ctx,
        { base: cell.agent, strategy: "everywhere" },
        "invalid_input",
        "count_links_1",
      )
    }),
)

hostFnTest(
  "count_links_1 runs only in calls",
  (cell) =>
    expectAllowedIn(countLinks, cell, ["zome_call", "init", "post_commit"], { base: cell.agent }),
)
