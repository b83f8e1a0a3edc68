import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { zomeInfo } from "./zome_info.ts"
import { expectAllowedIn, hostFnTest, run } from "./test_support.ts"

const types = {
  "entry_defs": [{ name: "post", visibility: "public" }, { name: "secret", visibility: "private" }],
  "link_types": ["comments", "likes"],
}

hostFnTest(
  "zome_info_1 answers a coordinator zome with its integrity zome's types",
  (cell) =>
    Effect.gen(function* () {
      assertEquals(yield* run(zomeInfo, yield* cell.context(), null), {
        name: "posts",
        id: 1, // after the DNA's one integrity zome
        ...types,
        "extern_fns": ["create_post", "get_post"],
      })
    }),
)

hostFnTest(
  "zome_info_1 answers an integrity zome with its own index and types",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context("validate", { zome: cell.integrity })
      assertEquals(yield* run(zomeInfo, ctx, null), {
        name: "posts_integrity",
        id: 0,
        ...types,
        "extern_fns": ["validate", "entry_defs"],
      })
    }),
)

hostFnTest(
  "zome_info_1 runs wherever the DNA is known, not in entry_defs",
  (cell) =>
    expectAllowedIn(zomeInfo, cell, [
      "zome_call",
      "init",
      "post_commit",
      "validate",
      "genesis_self_check",
    ], null),
)
