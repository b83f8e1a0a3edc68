/**
 * `must_get_valid_record_1`: a record that passed validation, as a validation dependency
 * (abi.md §4.5). This conductor only integrates valid records, so presence means valid; peers
 * answer only what they hold, and the answer is verified.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { ActionHashSchema, recordWire } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { dependency, readRecord, strategyOf } from "./network_support.ts"

export const mustGetValidRecord = defineHostFn({
  name: "must_get_valid_record_1",
  input: Schema.Struct({ hash: ActionHashSchema }),
  allowedIn: DEPENDENCIES,
  fuel: READ_FUEL,
  run: (ctx, { hash }) =>
    Effect.gen(function* () {
      const found = yield* dependency(ctx, readRecord(ctx, hash, strategyOf(ctx, null)))
      return found === null
        ? yield* missing(ctx, "must_get_valid_record_1: record", hash)
        : recordWire(found)
    }),
})
