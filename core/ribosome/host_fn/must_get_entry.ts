/**
 * `must_get_entry_1`: an entry by hash, as a validation dependency (abi.md §4.5). During
 * validation only public entries count; a zome call also sees its own agent's private entries.
 * Not held here: a verified answer from the network.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Cascade } from "../../network/mod.ts"
import { EntryHashSchema } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { dependency, readError, strategyOf } from "./network_support.ts"

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
      const cascade = yield* Cascade
      const viewer = ctx.kind === "validate" ? null : ctx.cell.agent
      const entry = yield* dependency(
        ctx,
        Effect.mapError(
          cascade.getEntry(ctx.cell.dna.hash, hash, viewer, strategyOf(ctx, null)),
          readError,
        ),
      )
      return entry ?? (yield* missing(ctx, "must_get_entry_1: entry", hash))
    }),
})
