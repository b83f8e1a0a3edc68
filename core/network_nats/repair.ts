/**
 * Anti-entropy repair (network.md §4): two peers compare what they hold of a space and the one
 * missing records fetches them. A summary is, per DHT sector of the action hash (512), the
 * number of actions held and the XOR of their hashes. One round with one peer:
 *
 * 1. `sync`: send my summary; the peer answers with its action hashes in every sector where
 *    the summaries differ (at most `MAX_SYNC_HASHES`), and starts its own round with me when
 *    it saw a difference (so both sides converge from one exchange);
 * 2. `fetch`: ask for the hashes I neither hold nor refused, `MAX_FETCH` at a time; the peer
 *    answers with the records (public form) that fit in one message;
 * 3. every fetched record goes through `Incoming.ingest` like a published one: fetched data is
 *    as untrusted as any.
 *
 * Rounds with several peers run in parallel, each request bounded by its timeout, so one dead
 * peer never stalls the others (kitsune2#614). The XOR summary is only a cheap way to find
 * differences; it is not trusted for anything.
 *
 * @module
 */
import { Effect } from "effect"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  hashCore,
  hashKey,
  isHoloHash,
} from "../hash/mod.ts"
import { NetworkError } from "../network/mod.ts"
import { locationOf, Spaces } from "../space/mod.ts"
import { Store, StoreError } from "../store/mod.ts"
import { type Record, recordWire } from "../types/mod.ts"
import type { InboxShape } from "./inbox.ts"
import type { IncomingShape, IngestOutcome } from "./incoming.ts"
import { publicRecord } from "./records.ts"
import { sectorOf, SECTORS } from "./subjects.ts"

/** Most hashes one `sync` answer carries. */
export const MAX_SYNC_HASHES = 16_000
/** Most hashes one `fetch` asks for. */
export const MAX_FETCH = 256
/** Most records one round fetches from one peer (the next round continues). */
export const MAX_ROUND_RECORDS = 20_000
/** Room kept in a `fetch` answer for the envelope around the records, in bytes. */
const ENVELOPE_ROOM = 16 * 1024

/** Per sector: count and XOR of the held action hashes' cores. */
export type Summary = Map<number, { count: number; xor: Uint8Array }>

/** The summary of a list of action hashes. */
export function summarize(hashes: Iterable<Uint8Array>): Summary {
  const summary: Summary = new Map()
  for (const hash of hashes) {
    const sector = sectorOf(locationOf(hash))
    let entry = summary.get(sector)
    if (entry === undefined) {
      entry = { count: 0, xor: new Uint8Array(32) }
      summary.set(sector, entry)
    }
    entry.count++
    const core = hashCore(hash)
    for (let i = 0; i < 32; i++) entry.xor[i]! ^= core[i]!
  }
  return summary
}

/** The wire form of a summary: `[[sector, count, xor], …]`. */
export function encodeSummary(summary: Summary): Uint8Array {
  return encode([...summary].map(([sector, { count, xor }]) => [sector, count, xor]))
}

/** Decodes an untrusted summary; null when malformed. */
export function decodeSummary(body: Uint8Array): Summary | null {
  let raw: unknown
  try {
    raw = decodeUntrusted(body)
  } catch {
    return null
  }
  if (!Array.isArray(raw) || raw.length > SECTORS) return null
  const summary: Summary = new Map()
  for (const item of raw) {
    if (!Array.isArray(item) || item.length !== 3) return null
    const [sector, count, xor] = item
    if (!Number.isInteger(sector) || sector < 0 || sector >= SECTORS) return null
    if (!Number.isSafeInteger(count) || count < 0) return null
    if (!(xor instanceof Uint8Array) || xor.length !== 32) return null
    summary.set(sector, { count, xor })
  }
  return summary
}

/** Sectors where two summaries differ. */
export function differingSectors(a: Summary, b: Summary): ReadonlyArray<number> {
  const out: Array<number> = []
  for (let sector = 0; sector < SECTORS; sector++) {
    const x = a.get(sector)
    const y = b.get(sector)
    if (x === undefined && y === undefined) continue
    if (x === undefined || y === undefined || x.count !== y.count || !bytesEqual(x.xor, y.xor)) {
      out.push(sector)
    }
  }
  return out
}

/** Decodes a list of action hashes, at most `limit`; null when malformed. */
export function decodeHashes(body: Uint8Array, limit: number): ReadonlyArray<Uint8Array> | null {
  let raw: unknown
  try {
    raw = decodeUntrusted(body)
  } catch {
    return null
  }
  if (!Array.isArray(raw) || raw.length > limit) return null
  return raw.every((h) => isHoloHash(h, "action")) ? raw as Array<Uint8Array> : null
}

/** The repair operations of one conductor. */
export const makeRepair = (options: {
  readonly inbox: InboxShape
  readonly incoming: IncomingShape
  readonly maxBytes: number
  readonly timeoutMs: number
  /** Called when a peer's summary differs from ours (the runtime starts a round with it). */
  readonly onDifference: (space: DnaHash, peer: AgentPubKey) => Effect.Effect<void>
  /** Called with what each fetched record became. */
  readonly onIngested: (space: DnaHash, outcome: IngestOutcome) => Effect.Effect<void>
  /** Fetch requests in flight, by space. */
  readonly inFlight: (space: DnaHash, delta: number) => void
}) =>
  Effect.gen(function* () {
    const store = yield* Store
    const spaces = yield* Spaces
    const selectHashes = store.prepare("SELECT hash FROM actions WHERE dna_hash = ?")
    /** Records some round is fetching now, by `hashKey`. */
    const fetching = new Set<string>()
    const { inbox, incoming, maxBytes, timeoutMs } = options

    const heldHashes = (space: DnaHash) =>
      Effect.try({
        try: () =>
          (selectHashes.all(space) as unknown as Array<{ hash: Uint8Array }>).map((r) => r.hash),
        catch: (cause) => new StoreError({ operation: "Repair.heldHashes", cause }),
      })

    const summaryOf = (space: DnaHash) => Effect.map(heldHashes(space), summarize)

    const malformed = (operation: string, detail: string) =>
      new NetworkError({ reason: "Refused", operation, detail })

    /** Answers `sync`: my hashes in the sectors where the summaries differ. */
    const answerSync = (space: DnaHash, peer: AgentPubKey, body: Uint8Array) =>
      Effect.gen(function* () {
        const theirs = decodeSummary(body)
        if (theirs === null) return yield* malformed("Repair.sync", "malformed summary")
        const hashes = yield* Effect.orDie(heldHashes(space))
        const mine = summarize(hashes)
        const differing = new Set(differingSectors(mine, theirs))
        if (differing.size > 0) yield* options.onDifference(space, peer)
        const answer: Array<Uint8Array> = []
        for (const hash of hashes) {
          if (answer.length >= MAX_SYNC_HASHES) break
          if (differing.has(sectorOf(locationOf(hash)))) answer.push(hash)
        }
        return encode(answer)
      })

    /** Answers `fetch`: the asked records this space holds, as many as fit. */
    const answerFetch = (space: DnaHash, local: AgentPubKey, body: Uint8Array) =>
      Effect.gen(function* () {
        const hashes = decodeHashes(body, MAX_FETCH)
        if (hashes === null) return yield* malformed("Repair.fetch", "malformed hash list")
        const records: Array<Record> = []
        let size = 0
        for (const hash of hashes) {
          const record = yield* Effect.orDie(spaces.get(space, hash, local))
          if (record === null) continue
          const wire = recordWire(publicRecord(record))
          const bytes = encode(wire).length
          if (size + bytes > maxBytes - ENVELOPE_ROOM) break
          size += bytes
          records.push(wire)
        }
        return encode(records)
      })

    /** One round with one peer; returns how many records it integrated. */
    const round = (space: DnaHash, local: AgentPubKey, peer: AgentPubKey) =>
      Effect.gen(function* () {
        const summary = yield* Effect.orDie(summaryOf(space))
        const reply = yield* inbox.ask(
          space,
          local,
          peer,
          "sync",
          encodeSummary(summary),
          timeoutMs,
        )
        const offered = decodeHashes(reply.body, MAX_SYNC_HASHES)
        if (offered === null) return yield* malformed("Repair.round", "malformed sync answer")
        const missing = offered.filter((hash) => !incoming.known(space, hash))
          .slice(0, MAX_ROUND_RECORDS)
        let integrated = 0
        let cursor = 0
        while (cursor < missing.length) {
          // Rounds with several peers run at once and usually miss the same records: each
          // record is fetched by one round at a time, and not at all once it is held.
          const batch = missing.slice(cursor, cursor + MAX_FETCH).filter((hash) =>
            !fetching.has(hashKey(hash)) && !incoming.known(space, hash)
          )
          if (batch.length === 0) {
            cursor += MAX_FETCH
            continue
          }
          for (const hash of batch) fetching.add(hashKey(hash))
          const release = Effect.sync(() => {
            for (const hash of batch) fetching.delete(hashKey(hash))
            options.inFlight(space, -1)
          })
          options.inFlight(space, 1)
          yield* Effect.gen(function* () {
            const answer = yield* inbox.ask(space, local, peer, "fetch", encode(batch), timeoutMs)
            let records: unknown
            try {
              records = decodeUntrusted(answer.body)
            } catch {
              return yield* malformed("Repair.round", "malformed fetch answer")
            }
            if (!Array.isArray(records) || records.length > batch.length) {
              return yield* malformed("Repair.round", "the fetch answer is not a list of records")
            }
            for (const body of records) {
              const outcome = yield* Effect.orDie(incoming.ingest(space, body, peer))
              if (outcome.type === "integrated") integrated++
              yield* options.onIngested(space, outcome)
            }
            // A peer that answers nothing makes no progress: stop rather than spin.
            cursor = records.length === 0 ? missing.length : cursor + records.length
          }).pipe(Effect.ensuring(release))
        }
        return integrated
      })

    return { answerSync, answerFetch, round, summaryOf }
  })
