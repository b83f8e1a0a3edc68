/**
 * `query_1`: records of the running cell's own chain, filtered by action type, entry type name
 * and sequence range, including the call's uncommitted writes (abi.md §4.4).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Chain, entryTypeKey } from "../../chain/mod.ts"
import { ACTION_TYPES, type ActionType, type Record, recordWire } from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { internal, resolveEntryType } from "./support.ts"

const SYSTEM_ENTRY_TYPES = new Set(["agent_pub_key", "cap_grant", "cap_claim"])

export const query = defineHostFn({
  name: "query_1",
  input: Schema.Struct({
    "action_types": Schema.optionalKey(
      Schema.NullOr(Schema.Array(Schema.Literals(ACTION_TYPES as Array<ActionType>))),
    ),
    "entry_types": Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String))),
    "seq_range": Schema.optionalKey(Schema.NullOr(Schema.Tuple([Schema.Int, Schema.Int]))),
    "include_entries": Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    descending: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const chain = yield* Chain
      let entryTypes: Array<string> | undefined
      if (input.entry_types) {
        entryTypes = []
        for (const name of input.entry_types) {
          if (SYSTEM_ENTRY_TYPES.has(name)) entryTypes.push(name)
          else {
            const { zome, index, def } = yield* resolveEntryType(ctx, name)
            entryTypes.push(
              entryTypeKey({
                type: "app",
                "zome_index": zome.index,
                "entry_index": index,
                visibility: def.visibility,
              }),
            )
          }
        }
      }
      const filter = {
        ...(input.action_types ? { actionTypes: input.action_types } : {}),
        ...(entryTypes ? { entryTypes } : {}),
        ...(input.seq_range ? { seqRange: input.seq_range } : {}),
        includeEntries: input.include_entries ?? true,
        descending: input.descending ?? false,
      }
      const committed = yield* Effect.mapError(
        chain.query(ctx.cell.dna.hash, ctx.cell.agent, filter),
        internal,
      )
      const pending = (ctx.workspace?.pending ?? []).map((p) => p.record).filter((r: Record) => {
        const a = r.action
        if (filter.actionTypes && !filter.actionTypes.includes(a.type)) return false
        if (filter.entryTypes) {
          if (a.type !== "create" && a.type !== "update") return false
          if (!filter.entryTypes.includes(entryTypeKey(a.entry_type))) return false
        }
        if (
          filter.seqRange &&
          (a.action_seq < filter.seqRange[0] || a.action_seq >= filter.seqRange[1])
        ) return false
        return true
      }).map((r) => (filter.includeEntries ? r : { ...r, entry: null }))
      const all = filter.descending
        ? [...pending.reverse(), ...committed]
        : [...committed, ...pending]
      return all.map(recordWire)
    }),
})
