/**
 * `call_1`: calls a zome function of this cell, another cell of the app (by role), or any
 * running cell of this conductor (abi.md §4.6). Provenance is the calling cell's agent, so a
 * call into another agent's cell needs a grant that `cap_secret` satisfies. The call itself runs
 * through the zome-call workflow the context provides.
 *
 * @module
 */
import { Schema } from "effect"
import { CapSecretSchema, CellIdSchema } from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"

export const call = defineHostFn({
  name: "call_1",
  input: Schema.Struct({
    target: Schema.Union([
      Schema.Struct({ type: Schema.Literal("local") }),
      Schema.Struct({ type: Schema.Literal("cell"), value: CellIdSchema }),
      Schema.Struct({ type: Schema.Literal("role"), value: Schema.String }),
    ]),
    "zome_name": Schema.String,
    "fn_name": Schema.String,
    "cap_secret": Schema.optionalKey(Schema.NullOr(CapSecretSchema)),
    payload: Schema.Uint8Array,
  }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    ctx.call(
      input.target,
      input.zome_name,
      input.fn_name,
      input.payload,
      input.cap_secret ?? null,
    ),
})
