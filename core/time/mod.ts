/**
 * Timestamps as Holochain writes them: integer microseconds since the UNIX epoch
 * (conductor-api.md §9), read from Effect's `Clock` so tests can control time.
 *
 * @module
 */
import { Clock, Effect } from "effect"

/** Microseconds since the UNIX epoch. */
export type Timestamp = number

/** Now, in microseconds, from the current `Clock`. */
export const nowMicros: Effect.Effect<Timestamp> = Effect.map(
  Clock.currentTimeNanos,
  (nanos) => Number(nanos / 1000n),
)

/** Now, in microseconds, from a `Clock` captured earlier (for synchronous code paths). */
export function clockMicros(clock: Clock.Clock): Timestamp {
  return Number(clock.currentTimeNanosUnsafe() / 1000n)
}
