import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { MAX_ENTRY_BYTES } from "../../types/mod.ts"
import { update } from "./update.ts"
import { committedPost, expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "update_1 appends an update pointing at the original action and entry",
  (cell) =>
    Effect.gen(function* () {
      const original = yield* committedPost(cell, "v1")
      const ctx = yield* cell.context()
      const entry = encode("v2")
      const hash = yield* run(update, ctx, { "original_action_hash": original.action_hash, entry })
      const record = ctx.workspace!.pending[0]!.record
      assertEquals(record.action_hash, hash)
      const action = record.action
      assertEquals(action.type, "update")
      if (action.type !== "update" || original.action.type !== "create") return
      assertEquals(action.original_action_address, original.action_hash)
      assertEquals(action.original_entry_address, original.action.entry_hash)
      assertEquals(action.entry_type, original.action.entry_type)
      assertEquals(record.entry, { "entry_type": "app", entry })
    }),
)

hostFnTest(
  "update_1 can update a create of the same call, not yet committed",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const ws = ctx.workspace!
      const entry = { "entry_type": "app", entry: encode("v1") } as const
      const created = ws.append(
        {
          type: "create",
          "entry_type": { type: "app", "zome_index": 0, "entry_index": 1, visibility: "private" },
          "entry_hash": ws.entryHash(entry),
        },
        entry,
        true,
      )
      yield* run(update, ctx, {
        "original_action_hash": created.record.action_hash,
        entry: encode(2),
      })
      assertEquals(ws.pending.length, 2)
      assertEquals(ws.pending[1]!.entryPrivate, true) // a private original stays private
    }),
)

hostFnTest(
  "update_1 refuses a missing original, a non-entry action and an oversized entry",
  (cell) =>
    Effect.gen(function* () {
      const original = yield* committedPost(cell, "v1")
      const ctx = yield* cell.context()
      const missing = new Uint8Array(original.action_hash)
      missing[10]! ^= 1
      yield* expectError(
        update,
        ctx,
        { "original_action_hash": missing, entry: encode(1) },
        "not_found",
        "original action",
      )
      for (const genesis of [cell.genesis[0]!, cell.genesis[2]!]) {
        yield* expectError(
          update,
          ctx,
          { "original_action_hash": genesis.action_hash, entry: encode(1) },
          "invalid",
          `${genesis.action.type} action`,
        )
      }
      yield* expectError(
        update,
        ctx,
        {
          "original_action_hash": original.action_hash,
          entry: new Uint8Array(MAX_ENTRY_BYTES + 1),
        },
        "limit",
        "update_1",
      )
      const entryHash = (yield* cell.context()).workspace!.entryHash(original.entry!)
      yield* expectError(
        update,
        ctx,
        { "original_action_hash": entryHash, entry: encode(1) },
        "invalid_input",
      )
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest("update_1 writes only in zome calls and init", (cell) =>
  Effect.gen(function* () {
    const original = yield* committedPost(cell, "v1")
    yield* expectAllowedIn(update, cell, ["zome_call", "init"], {
      "original_action_hash": original.action_hash,
      entry: encode(1),
    })
  }))
