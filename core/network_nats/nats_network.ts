/**
 * The NATS implementation of the `Network` seam. `publish` sends each due op's record once,
 * as a signed `op` envelope from its author, to `k2.<space>.op.<sector>` of its action hash;
 * NATS fans it out to every holder subscribed there (full arcs: every peer). An op is handed
 * back as published only when its space is joined and has a live holder; otherwise it stays
 * due, and it is published as soon as a peer appears. Ops that already have the receipts the
 * space can give (`requiredReceipts`) are settled instead of republished. `peers` counts live
 * remote agents. The remote reads and calls come from ./remote.ts.
 *
 * @module
 */
import { Clock, Effect } from "effect"
import { encode } from "../codec/mod.ts"
import { type DnaHash, hashKey } from "../hash/mod.ts"
import type { NetworkShape } from "../network/mod.ts"
import { locationOf, Outbox, type OutboxOp, Spaces } from "../space/mod.ts"
import { clockMicros } from "../time/mod.ts"
import { recordWire } from "../types/mod.ts"
import { NatsConnection } from "./connection.ts"
import { Inbox } from "./inbox.ts"
import { publicRecord } from "./records.ts"
import { makeRemote } from "./remote.ts"
import { NatsState } from "./state.ts"
import { sectorOf, spaceSubjects } from "./subjects.ts"

/** Builds the network. */
export const makeNatsNetwork = Effect.gen(function* () {
  const nats = yield* NatsConnection
  const inbox = yield* Inbox
  const state = yield* NatsState
  const outbox = yield* Outbox
  const spaces = yield* Spaces
  const clock = yield* Clock.Clock

  const publish = (ops: ReadonlyArray<OutboxOp>) =>
    Effect.gen(function* () {
      const now = clockMicros(clock)
      const byAction = new Map<string, Array<OutboxOp>>()
      for (const op of ops) {
        const key = hashKey(op.actionHash)
        const group = byAction.get(key)
        if (group === undefined) byAction.set(key, [op])
        else group.push(op)
      }
      const taken: Array<number> = []
      const settled: Array<number> = []
      for (const group of byAction.values()) {
        const first = group[0]!
        const joined = state.space(first.dna)
        if (joined === undefined) continue
        if (state.holders(first.dna, now).length === 0) continue
        const required = state.requiredReceipts(first.dna, now)
        const open = group.filter((op) => op.receipts < required)
        for (const op of group) if (op.receipts >= required) settled.push(op.id)
        if (open.length === 0) continue
        const record = yield* Effect.orElseSucceed(
          spaces.get(first.dna, first.actionHash, first.author),
          () => null,
        )
        if (record === null) continue
        const sealed = yield* Effect.result(
          inbox.seal(first.dna, first.author, null, "op", encode(recordWire(publicRecord(record)))),
        )
        if (sealed._tag === "Failure") {
          yield* Effect.logWarning(`network: cannot publish: ${sealed.failure.message}`)
          continue
        }
        const subject = spaceSubjects(first.dna).op(sectorOf(locationOf(first.actionHash)))
        if (yield* nats.publish(subject, sealed.success)) {
          joined.counters.published++
          for (const op of open) taken.push(op.id)
        }
      }
      if (settled.length > 0) yield* Effect.orElseSucceed(outbox.settle(settled, now), () => {})
      return taken
    })

  const peers = (dna: DnaHash) =>
    Effect.sync(() => state.remotePeers(dna, clockMicros(clock)).length)

  // Not a literal: the remote methods may take more than the fields RemoteDeps names here
  // (`connected` lets requests fail at once while NATS is down).
  const deps = { inbox, state, connected: nats.connected }
  const remote = makeRemote(deps)
  const network: NetworkShape = { peers, publish, ...remote }
  return network
})
