/**
 * The `NonceWitness` service: replay protection for signed zome calls (conductor-api.md §3.2,
 * step 4). A call's `(provenance, nonce)` may be used once while its `expires_at` is in the
 * future; `expires_at` must be after now and at most 50 minutes ahead (Holochain's
 * `WITNESSABLE_EXPIRY_DURATION`).
 *
 * A nonce is identified together with its expiry: `(provenance, nonce, expires_at)`. A replay is
 * the same signed bytes, so it carries the same expiry; a different expiry makes a new signed
 * call, which only the provenance's key can produce (Holochain keys on `(provenance, nonce)`;
 * docs/decisions.md, "Nonces", says why the expiry is part of the key here).
 *
 * Persistence: the check is exact and synchronous against the nonces witnessed since the last
 * flush (memory) and the `nonces` table (SQLite), which is only read when a Bloom filter of every
 * nonce seen (`nonce_filter.ts`) says "maybe". New nonces are written behind, in one transaction
 * per batch: every 100 ms, and at shutdown; the signed-call path also flushes when 10,000 are
 * waiting and after any call that committed to a source chain, before that call's response is
 * sent. A replay across a restart is therefore refused, except for read-only calls witnessed in
 * the last 100 ms before a crash. Expired rows are pruned every second.
 *
 * @module
 */
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { Store, StoreError } from "../store/mod.ts"
import { makeNonceFilter } from "./nonce_filter.ts"
import { clockMicros, type Timestamp } from "../time/mod.ts"

/** How far in the future a call's `expires_at` may be, in microseconds (50 minutes). */
export const MAX_NONCE_AHEAD_MICROS = 50 * 60 * 1_000_000
/** How often witnessed nonces are written. */
export const NONCE_FLUSH_INTERVAL = Duration.millis(100)
/** Waiting nonces that trigger an immediate write. */
export const NONCE_FLUSH_BATCH = 10_000
/** How often expired nonces are deleted (often, so that each delete is short). */
export const NONCE_PRUNE_INTERVAL = Duration.seconds(1)

/** The outcome of witnessing a nonce; anything but `ok` refuses the call (`BadNonce`). */
export type NonceOutcome = "ok" | "expired" | "future" | "duplicate"

/** What NonceWitness offers. */
export interface NonceWitnessShape {
  /** Checks and records a nonce synchronously. */
  readonly witness: (
    provenance: Uint8Array,
    nonce: Uint8Array,
    expiresAt: Timestamp,
  ) => NonceOutcome
  /** Writes every witnessed nonce that is not stored yet. */
  readonly flush: Effect.Effect<void, StoreError>
  /** Deletes expired nonces; returns how many. */
  readonly prune: Effect.Effect<number, StoreError>
  /** Nonces witnessed and not yet written. */
  readonly pending: () => number
}

/** A map key for bytes: one UTF-16 unit per byte (about 10x cheaper than base64 here). */
function byteKey(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as Array<number>)
}

interface PendingNonce {
  readonly provenance: Uint8Array
  readonly nonce: Uint8Array
  readonly expiresAt: Timestamp
}

/** Builds the witness without its background flushing (tests drive `flush` themselves). */
export const makeNonceWitness = Effect.gen(function* () {
  const store = yield* Store
  const clock = yield* Clock.Clock
  const select = store.prepare(
    "SELECT 1 AS seen FROM nonces WHERE expires_at = ? AND nonce = ? AND provenance = ?",
  )
  const insert = store.prepare(
    "INSERT OR IGNORE INTO nonces (expires_at, nonce, provenance) VALUES (?, ?, ?)",
  )
  const deleteExpired = store.prepare("DELETE FROM nonces WHERE expires_at <= ?")
  const selectLive = store.prepare("SELECT provenance, nonce FROM nonces WHERE expires_at > ?")
  let pending = new Map<string, PendingNonce>()
  // Nonces witnessed so far (stored ones included): most calls never touch the table.
  const filter = makeNonceFilter()
  let generationStart = clockMicros(clock)
  yield* Effect.try({
    try: () => {
      for (const row of selectLive.iterate(generationStart)) {
        const { provenance, nonce } = row as { provenance: Uint8Array; nonce: Uint8Array }
        filter.add(provenance, nonce)
      }
    },
    catch: (cause) => new StoreError({ operation: "NonceWitness.load", cause }),
  })

  const writePending = () => {
    if (pending.size === 0) return
    const batch = pending
    store.transaction(() => {
      for (const p of batch.values()) insert.run(p.expiresAt, p.nonce, p.provenance)
    })
    // Cleared only after the write succeeded: a failed write keeps the nonces for the next try.
    if (pending === batch) pending = new Map()
  }

  const flush = Effect.try({
    try: writePending,
    catch: (cause) => new StoreError({ operation: "NonceWitness.flush", cause }),
  })

  const witness = (provenance: Uint8Array, nonce: Uint8Array, expiresAt: Timestamp) => {
    const now = clockMicros(clock)
    if (expiresAt <= now) return "expired"
    if (expiresAt > now + MAX_NONCE_AHEAD_MICROS) return "future"
    if (now - generationStart >= MAX_NONCE_AHEAD_MICROS) {
      filter.rotate()
      generationStart = now
    }
    const key = `${byteKey(provenance)}${byteKey(nonce)}${expiresAt}`
    if (pending.has(key)) return "duplicate"
    if (
      filter.mightContain(provenance, nonce) &&
      select.get(expiresAt, nonce, provenance) !== undefined
    ) {
      return "duplicate"
    }
    pending.set(key, { provenance, nonce, expiresAt })
    filter.add(provenance, nonce)
    return "ok"
  }

  const prune = Effect.try({
    try: () => Number(deleteExpired.run(clockMicros(clock)).changes),
    catch: (cause) => new StoreError({ operation: "NonceWitness.prune", cause }),
  })

  return NonceWitness.of({ witness, flush, prune, pending: () => pending.size })
})

/** Replay protection for signed zome calls. */
export class NonceWitness extends Context.Service<NonceWitness, NonceWitnessShape>()(
  "conductor/app_interface/NonceWitness",
) {
  /** The witness with write-behind every 100 ms, pruning every minute and a final flush. */
  static readonly layer = Layer.effect(
    NonceWitness,
    Effect.gen(function* () {
      const witness = yield* makeNonceWitness
      const logged = <A>(effect: Effect.Effect<A, StoreError>) =>
        effect.pipe(
          Effect.catchTag("StoreError", (e) => Effect.logError(`nonces: ${e.message}`)),
          Effect.asVoid,
        )
      yield* Effect.addFinalizer(() => logged(witness.flush))
      yield* Effect.forkScoped(
        logged(Effect.suspend(() => witness.pending() > 0 ? witness.flush : Effect.void)).pipe(
          Effect.repeat(Schedule.spaced(NONCE_FLUSH_INTERVAL)),
        ),
      )
      yield* Effect.forkScoped(
        logged(witness.prune).pipe(Effect.repeat(Schedule.spaced(NONCE_PRUNE_INTERVAL))),
      )
      return witness
    }),
  )
}
