/**
 * `get_1`: a record by action hash, or the oldest live record of an entry hash, from this
 * conductor's space for the DNA, seeing the call's own writes first (abi.md §4.4).
 *
 * @module
 */
import { Schema } from "effect"
import { AnyDhtHashSchema, recordWire } from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { findRecord } from "./support.ts"
import { Effect } from "effect"

export const get = defineHostFn({
  name: "get_1",
  input: Schema.Struct({ hash: AnyDhtHashSchema }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, { hash }) =>
    Effect.map(findRecord(ctx, hash), (record) => (record === null ? null : recordWire(record))),
})
