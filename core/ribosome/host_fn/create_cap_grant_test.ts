import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { createCapGrant } from "./create_cap_grant.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const grant = {
  tag: "friends",
  access: { type: "transferable", value: { secret: new Uint8Array(64).fill(3) } },
  functions: { type: "listed", value: [["posts", "get_post"]] },
}

hostFnTest(
  "create_cap_grant_1 appends a private cap_grant entry",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const hash = yield* run(createCapGrant, ctx, grant)
      const pending = ctx.workspace!.pending[0]!
      assertEquals(pending.record.action_hash, hash)
      assertEquals(pending.entryPrivate, true)
      assertEquals(pending.record.entry, { "entry_type": "cap_grant", entry: grant })
      const action = pending.record.action
      assertEquals(action.type === "create" && action.entry_type, { type: "cap_grant" })
    }),
)

hostFnTest(
  "create_cap_grant_1 refuses a grant with a short secret or unknown access",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const shortSecret = {
        ...grant,
        access: { type: "transferable", value: { secret: new Uint8Array(32) } },
      }
      yield* expectError(createCapGrant, ctx, shortSecret, "invalid_input", "64 bytes")
      yield* expectError(
        createCapGrant,
        ctx,
        { ...grant, access: { type: "anyone" } },
        "invalid_input",
      )
      yield* expectError(
        createCapGrant,
        ctx,
        { ...grant, functions: { type: "some" } },
        "invalid_input",
      )
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest(
  "create_cap_grant_1 writes only in zome calls and init",
  (cell) => expectAllowedIn(createCapGrant, cell, ["zome_call", "init"], grant),
)
