/**
 * `must_get_entry_1`: an entry by hash, as a validation dependency (abi.md §4.5). During
 * validation only public entries count; a zome call also sees its own agent's private entries.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Spaces } from "../../space/mod.ts"
import { EntryHashSchema } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { internal } from "./support.ts"

export const mustGetEntry = defineHostFn({
  name: "must_get_entry_1",
  input: Schema.Struct({ hash: EntryHashSchema }),
  allowedIn: DEPENDENCIES,
  fuel: READ_FUEL,
  run: (ctx, { hash }) =>
    Effect.gen(function* () {
      const pending = ctx.workspace?.findByEntry(hash).find((p) =>
        p.record.entry !== null && (!p.entryPrivate || ctx.kind !== "validate")
      )
      if (pending !== undefined) return pending.record.entry
      const spaces = yield* Spaces
      const viewer = ctx.kind === "validate" ? null : ctx.cell.agent
      const entry = yield* Effect.mapError(
        spaces.getEntry(ctx.cell.dna.hash, hash, viewer),
        internal,
      )
      return entry ?? (yield* missing(ctx, "must_get_entry_1: entry", hash))
    }),
})
