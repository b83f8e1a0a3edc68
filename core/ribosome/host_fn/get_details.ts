/**
 * `get_details_1`: a record with its updates and deletes, or an entry with every action that
 * carries it, its updates, deletes and live/dead status (abi.md §4.4). The call's own writes are
 * included; with the default `strategy: "network"`, verified details from the network are
 * merged in.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual, hashTypeOf } from "../../hash/mod.ts"
import { Cascade } from "../../network/mod.ts"
import {
  AnyDhtHashSchema,
  recordWire,
  type SignedAction,
  signedActionWire,
} from "../../types/mod.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"
import { readError, readRecord, strategyOf, StrategySchema } from "./network_support.ts"

export const getDetails = defineHostFn({
  name: "get_details_1",
  input: Schema.Struct({ hash: AnyDhtHashSchema, strategy: StrategySchema }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      const hash = input.hash
      const strategy = strategyOf(ctx, input.strategy)
      const cascade = yield* Cascade
      const pending = ctx.workspace?.pending.map((p) => p.record) ?? []
      const pendingOf = (type: "delete" | "update", target: Uint8Array): Array<SignedAction> =>
        pending.filter((r) =>
          r.action.type === type &&
          bytesEqual(
            r.action.type === "delete"
              ? r.action.deletes_address
              : r.action.type === "update"
              ? r.action.original_action_address
              : new Uint8Array(),
            target,
          )
        )
      const committed = yield* Effect.mapError(
        cascade.getDetails(ctx.cell.dna.hash, hash, ctx.cell.agent, strategy),
        readError,
      )
      if (hashTypeOf(hash) === "action") {
        const record = committed?.type === "record"
          ? committed.record
          : yield* readRecord(ctx, hash, "local")
        if (record === null) return null
        return {
          type: "record",
          record: recordWire(record),
          deletes: [
            ...(committed?.type === "record" ? committed.deletes : []),
            ...pendingOf("delete", hash),
          ].map(signedActionWire),
          updates: [
            ...(committed?.type === "record" ? committed.updates : []),
            ...pendingOf("update", hash),
          ].map(signedActionWire),
        }
      }
      const carriers = pending.filter((r) =>
        (r.action.type === "create" || r.action.type === "update") &&
        bytesEqual(r.action.entry_hash, hash)
      )
      const base = committed?.type === "entry" ? committed : null
      const entry = base?.entry ?? carriers.find((r) => r.entry !== null)?.entry ?? null
      if (entry === null) return null
      const actions = [...(base?.actions ?? []), ...carriers]
      const deletes = [
        ...(base?.deletes ?? []),
        ...actions.flatMap((a) => pendingOf("delete", a.action_hash)),
      ]
      const updates = [
        ...(base?.updates ?? []),
        ...actions.flatMap((a) => pendingOf("update", a.action_hash)),
      ]
      const deleted = (a: SignedAction) =>
        deletes.some((d) =>
          d.action.type === "delete" && bytesEqual(d.action.deletes_address, a.action_hash)
        )
      return {
        type: "entry",
        entry,
        actions: actions.map(signedActionWire),
        deletes: deletes.map(signedActionWire),
        updates: updates.map(signedActionWire),
        "entry_dht_status": actions.some((a) => !deleted(a)) ? "live" : "dead",
      }
    }),
})
