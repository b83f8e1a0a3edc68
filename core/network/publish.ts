/**
 * One round of publishing: the outbox's due ops go to the `Network`, and the ops it took are
 * scheduled for their next attempt with back-off (network.md §4: republish until receipts are
 * complete). The network's publish loop (the next issue) runs this on a timer and on commits;
 * without a network it publishes nothing and the ops stay due.
 *
 * @module
 */
import { Clock, Effect } from "effect"
import { Outbox } from "../space/mod.ts"
import { clockMicros } from "../time/mod.ts"
import { Network } from "./network.ts"

/** Publishes up to `limit` due ops; returns how many the network took. */
export const publishDue = (limit: number) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const network = yield* Network
    const clock = yield* Clock.Clock
    const now = clockMicros(clock)
    const due = yield* outbox.due(now, limit)
    if (due.length === 0) return 0
    const sent = yield* network.publish(due)
    const known = new Set(due.map((op) => op.id))
    const taken = sent.filter((id) => known.has(id))
    yield* outbox.published(taken, now)
    return taken.length
  })
