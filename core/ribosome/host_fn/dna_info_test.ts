import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { dnaInfo } from "./dna_info.ts"
import { expectAllowedIn, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "dna_info_1 answers the DNA's name, hash, modifiers and zomes",
  (cell) =>
    Effect.gen(function* () {
      for (const kind of ["zome_call", "validate"] as const) {
        assertEquals(yield* run(dnaInfo, yield* cell.context(kind), null), {
          name: "host_fn_test",
          hash: cell.cell.dna.hash,
          modifiers: { "network_seed": "seed-1", properties: encode({ answer: 42 }) },
          "zome_names": ["posts_integrity", "posts"],
        })
      }
    }),
)

hostFnTest(
  "dna_info_1 runs wherever the DNA is known, not in entry_defs",
  (cell) =>
    expectAllowedIn(dnaInfo, cell, [
      "zome_call",
      "init",
      "post_commit",
      "validate",
      "genesis_self_check",
    ], null),
)
