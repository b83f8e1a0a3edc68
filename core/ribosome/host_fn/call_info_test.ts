import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { callInfo } from "./call_info.ts"
import { expectAllowedIn, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "call_info_1 answers the provenance, function and grant of the call",
  (cell) =>
    Effect.gen(function* () {
      const capGrant = {
        type: "grant",
        value: { tag: "public", "action_hash": new Uint8Array(39) },
      } as const
      const ctx = yield* cell.context("zome_call", { fnName: "get_post", capGrant })
      assertEquals(yield* run(callInfo, ctx, null), {
        provenance: cell.agent,
        "zome_name": "posts",
        "fn_name": "get_post",
        "cap_grant": capGrant,
      })
    }),
)

hostFnTest(
  "call_info_1 runs only in zome calls",
  (cell) => expectAllowedIn(callInfo, cell, ["zome_call"], null),
)
