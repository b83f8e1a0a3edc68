/**
 * `must_get_valid_record_1`: a record that passed validation, as a validation dependency
 * (abi.md §4.5). This conductor only integrates valid records, so presence means valid.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { ActionHashSchema, recordWire } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { findRecord } from "./support.ts"

export const mustGetValidRecord = defineHostFn({
  name: "must_get_valid_record_1",
  input: Schema.Struct({ hash: ActionHashSchema }),
  allowedIn: DEPENDENCIES,
  fuel: READ_FUEL,
  run: (ctx, { hash }) =>
    Effect.gen(function* () {
      const found = yield* findRecord(ctx, hash)
      return found === null
        ? yield* missing(ctx, "must_get_valid_record_1: record", hash)
        : recordWire(found)
    }),
})
