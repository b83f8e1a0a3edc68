import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { call } from "./call.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const payload = new Uint8Array([0x91, 0x01])

hostFnTest(
  "call_1 hands the target, zome, function, payload and secret to the workflow",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const secret = new Uint8Array(64).fill(7)
      assertEquals(
        yield* run(call, ctx, {
          target: { type: "role", value: "other_role" },
          "zome_name": "z",
          "fn_name": "f",
          "cap_secret": secret,
          payload,
        }),
        { type: "ok", value: payload },
      )
      yield* run(call, ctx, {
        target: { type: "cell", value: cell.cell.cellId },
        "zome_name": "posts",
        "fn_name": "get_post",
        payload,
      })
      assertEquals(cell.calls, [
        {
          target: { type: "role", value: "other_role" },
          zome: "z",
          fn: "f",
          payload,
          capSecret: secret,
        },
        {
          target: { type: "cell", value: cell.cell.cellId },
          zome: "posts",
          fn: "get_post",
          payload,
          capSecret: null,
        },
      ])
    }),
)

hostFnTest(
  "call_1 refuses a malformed target or secret before calling anything",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const base = { "zome_name": "z", "fn_name": "f", payload }
      yield* expectError(
        call,
        ctx,
        { ...base, target: { type: "remote" } },
        "invalid_input",
        "call_1",
      )
      yield* expectError(
        call,
        ctx,
        { ...base, target: { type: "cell", value: [payload] } },
        "invalid_input",
      )
      yield* expectError(
        call,
        ctx,
        { ...base, target: { type: "local" }, "cap_secret": new Uint8Array(63) },
        "invalid_input",
        "64 bytes",
      )
      assertEquals(cell.calls, [])
    }),
)

hostFnTest(
  "call_1 runs only in calls, never in validation",
  (cell) =>
    expectAllowedIn(call, cell, ["zome_call", "init", "post_commit"], {
      target: { type: "local" },
      "zome_name": "z",
      "fn_name": "f",
      payload,
    }),
)
