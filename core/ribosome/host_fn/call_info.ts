/**
 * `call_info_1`: who is calling the running zome function and under which grant (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { defineHostFn } from "./host_fn.ts"

export const callInfo = defineHostFn({
  name: "call_info_1",
  input: Schema.Unknown,
  allowedIn: new Set(["zome_call"]),
  run: (ctx) =>
    Effect.succeed({
      provenance: ctx.provenance,
      "zome_name": ctx.zome.name,
      "fn_name": ctx.fnName,
      "cap_grant": ctx.capGrant,
    }),
})
