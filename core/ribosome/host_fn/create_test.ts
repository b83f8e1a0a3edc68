import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../../codec/mod.ts"
import { MAX_ENTRY_BYTES } from "../../types/mod.ts"
import { create } from "./create.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

hostFnTest(
  "create_1 appends a create of the named entry type to the call's workspace",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const ws = ctx.workspace!
      const entry = encode({ title: "hello" })
      const hash = yield* run(create, ctx, { "entry_type": "secret", entry })
      assertEquals(ws.pending.length, 1)
      const record = ws.pending[0]!.record
      assertEquals(record.action_hash, hash)
      assertEquals(record.action.type, "create")
      assertEquals(record.action.type === "create" && record.action.entry_type, {
        type: "app",
        "zome_index": 0,
        "entry_index": 1,
        visibility: "private",
      })
      assertEquals(record.entry, { "entry_type": "app", entry })
      assertEquals(ws.pending[0]!.entryPrivate, true)
      assertEquals(record.action.action_seq, 3)
    }),
)

hostFnTest(
  "create_1 names the unknown entry type, the zome and the types it has",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const input = { "entry_type": "comment", entry: encode(1) }
      yield* expectError(
        create,
        ctx,
        input,
        "not_found",
        '"comment"',
        "posts_integrity",
        "post, secret",
      )
      yield* expectError(create, ctx, { ...input, zome: "nope" }, "not_found", '"nope"')
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest(
  "create_1 refuses an entry over the size limit and malformed input",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const big = new Uint8Array(MAX_ENTRY_BYTES + 1)
      yield* expectError(
        create,
        ctx,
        { "entry_type": "post", entry: big },
        "limit",
        `${MAX_ENTRY_BYTES}`,
      )
      yield* expectError(create, ctx, { "entry_type": "post" }, "invalid_input", "create_1")
      yield* expectError(create, ctx, { "entry_type": 7, entry: encode(1) }, "invalid_input")
      assertEquals(ctx.workspace!.pending.length, 0)
    }),
)

hostFnTest("create_1 writes only in zome calls and init", (cell) =>
  Effect.gen(function* () {
    yield* expectAllowedIn(create, cell, ["zome_call", "init"], {
      "entry_type": "post",
      entry: encode(1),
    })
    // A writing kind without a workspace (a read-only context) is denied too.
    const readOnly = yield* cell.context("zome_call", { workspace: null })
    yield* expectError(
      create,
      readOnly,
      { "entry_type": "post", entry: encode(1) },
      "denied",
      "create_1",
    )
  }))
