/**
 * `get_1`: a record by action hash, or the oldest live record of an entry hash, seeing the
 * call's own writes first, then this conductor's space for the DNA, then (with the default
 * `strategy: "network"`) a verified answer from the network (abi.md §4.4).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { AnyDhtHashSchema, recordWire } from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { readRecord, strategyOf, StrategySchema } from "./network_support.ts"

export const get = defineHostFn({
  name: "get_1",
  input: Schema.Struct({ hash: AnyDhtHashSchema, strategy: StrategySchema }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, { hash, strategy }) =>
    Effect.map(
      readRecord(ctx, hash, strategyOf(ctx, strategy)),
      (record) => (record === null ? null : recordWire(record)),
    ),
})
