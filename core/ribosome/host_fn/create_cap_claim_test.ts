import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { createCapClaim } from "./create_cap_claim.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "create_cap_claim_1 appends a private cap_claim entry",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const claim = { tag: "from bob", grantor: cell.agent, secret: new Uint8Array(64).fill(9) }
      const hash = yield* run(createCapClaim, ctx, claim)
      const pending = ctx.workspace!.pending[0]!
      assertEquals(pending.record.action_hash, hash)
      assertEquals(pending.entryPrivate, true)
      assertEquals(pending.record.entry, { "entry_type": "cap_claim", entry: claim })
      const action = pending.record.action
      assertEquals(action.type === "create" && action.entry_type, { type: "cap_claim" })
    }),
)

hostFnTest(
  "create_cap_claim_1 refuses a claim without a grantor key or a 64-byte secret",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const claim = { tag: "t", grantor: cell.agent, secret: new Uint8Array(64) }
      yield* expectError(
        createCapClaim,
        ctx,
        { ...claim, secret: new Uint8Array(65) },
        "invalid_input",
        "64 bytes",
      )
      yield* expectError(
        createCapClaim,
        ctx,
        { ...claim, grantor: cell.cell.dna.hash },
        "invalid_input",
      )
      yield* expectError(createCapClaim, ctx, { tag: "t" }, "invalid_input")
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest(
  "create_cap_claim_1 writes only in zome calls and init",
  (cell) =>
    expectAllowedIn(createCapClaim, cell, ["zome_call", "init"], {
      tag: "t",
      grantor: cell.agent,
      secret: new Uint8Array(64),
    }),
)
