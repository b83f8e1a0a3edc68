/**
 * Records from other conductors, from arrival to integration (network.md §4: "validate on
 * receipt"). `Incoming.ingest` takes an untrusted record body and:
 *
 * 1. decodes it within bounds and checks its action hash, the author's signature and the entry
 *    hash (`verifiedRecord`); a public entry must travel with its action, a private one never;
 * 2. runs system validation: a chain starts with the space's `dna` action, every later action
 *    extends its author's previous one (same author, next sequence number, later time), and a
 *    second action at a place already held is a chain fork;
 * 3. runs the integrity zomes' `validate` through the same path local commits take
 *    (`validatePending`, in a read-only workspace of the author's chain);
 * 4. integrates a valid record (the action and entry rows plus its DHT ops, links and grants)
 *    in one SQLite transaction.
 *
 * What fails 1, 2 or 3 is refused: recorded once in `network_refused` (never fetched or
 * validated again) and logged at info. What depends on data not held yet (the previous action,
 * an updated or deleted original, unresolved `must_get_*`) waits in a bounded limbo and is
 * retried after each integration and on a timer, until `MAX_WAIT_MICROS`.
 *
 * It does not send anything: the space runtime sends receipts for what integrates.
 *
 * @module
 */
import { Clock, Context, Effect, Layer, Semaphore } from "effect"
import { Cells, type RunningCell } from "../cell/mod.ts"
import { Chain, Workspace } from "../chain/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  encodeHashB64,
  Hasher,
  hashKey,
} from "../hash/mod.ts"
import { verifiedRecord } from "../network/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store, StoreError } from "../store/mod.ts"
import { clockMicros } from "../time/mod.ts"
import type { Record } from "../types/mod.ts"
import { recordValidator } from "../workflow/mod.ts"
import { decodeRecord, isPrivateEntryType } from "./records.ts"

/** Most records waiting for dependencies, over all spaces; the oldest go first past it. */
export const MAX_WAITING = 10_000
/** How long a record may wait for its dependencies before it is dropped (10 minutes). */
export const MAX_WAIT_MICROS = 600_000_000
/** Validation attempts that failed for reasons of ours (a callback error) before refusing. */
const MAX_CALLBACK_FAILURES = 3

/** Why a record was refused. */
export type RefusalReason =
  | "Malformed"
  | "BadSignature"
  | "InvalidChain"
  | "ChainFork"
  | "Invalid"
  | "CallbackFailed"

/** What `ingest` did with a record. */
export type IngestOutcome =
  | { readonly type: "integrated"; readonly record: Record }
  | { readonly type: "held"; readonly record: Record }
  | { readonly type: "refused"; readonly reason: RefusalReason; readonly detail: string }
  | { readonly type: "waiting"; readonly on: string }

/** What the incoming pipeline offers. */
export interface IncomingShape {
  /** Takes one record body (msgpack of a record) sent by `sender` in `space`. */
  readonly ingest: (
    space: DnaHash,
    body: unknown,
    sender: AgentPubKey,
  ) => Effect.Effect<IngestOutcome, StoreError>
  /** Retries waiting records; returns those that integrated now. */
  readonly retryWaiting: () => Effect.Effect<
    ReadonlyArray<{ readonly space: DnaHash; readonly record: Record }>,
    StoreError
  >
  /** True when the action is held or was refused (nothing to fetch). */
  readonly known: (space: DnaHash, actionHash: Uint8Array) => boolean
  /** Counts per space. */
  readonly counts: (
    space: DnaHash,
  ) => { readonly integrated: number; readonly refused: number; readonly waiting: number }
}

interface Waiting {
  readonly space: DnaHash
  readonly record: Record
  readonly sender: AgentPubKey
  readonly since: number
  callbackFailures: number
}

/** A signer for read-only workspaces: validation never writes. */
const noSigner = {
  publicKey: new Uint8Array(32),
  sign: (): Uint8Array => {
    throw new Error("validation of a record from the network cannot write")
  },
}

/** Builds the pipeline. */
export const makeIncoming = Effect.gen(function* () {
  const store = yield* Store
  const chain = yield* Chain
  const spaces = yield* Spaces
  const hasher = yield* Hasher
  const validate = yield* recordValidator
  const cells = yield* Cells
  const clock = yield* Clock.Clock
  const q = store.prepare
  const selectHeld = q("SELECT 1 AS held FROM actions WHERE hash = ?")
  const selectRefused = q("SELECT 1 AS refused FROM network_refused WHERE action_hash = ?")
  const selectAt = q("SELECT hash FROM actions WHERE dna_hash = ? AND author = ? AND seq = ?")
  const insertRefused = q(
    `INSERT OR IGNORE INTO network_refused
       (action_hash, dna_hash, author, sender, reason, detail, refused_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  )
  const waiting = new Map<string, Waiting>()
  const counters = new Map<string, { integrated: number; refused: number }>()
  const locks = new Map<string, Semaphore.Semaphore>()
  const counterOf = (space: DnaHash) => {
    const key = hashKey(space)
    let c = counters.get(key)
    if (c === undefined) {
      c = { integrated: 0, refused: 0 }
      counters.set(key, c)
    }
    return c
  }
  const lockOf = (space: DnaHash) => {
    const key = hashKey(space)
    let lock = locks.get(key)
    if (lock === undefined) {
      lock = Semaphore.makeUnsafe(1)
      locks.set(key, lock)
    }
    return lock
  }

  const attempt = <A>(operation: string, f: () => A) =>
    Effect.try({ try: f, catch: (cause) => new StoreError({ operation, cause }) })

  const held = (hash: Uint8Array) => selectHeld.get(hash) !== undefined
  const known = (_space: DnaHash, hash: Uint8Array) =>
    held(hash) || selectRefused.get(hash) !== undefined

  const refuse = (
    space: DnaHash,
    record: { readonly action_hash: Uint8Array; readonly author: Uint8Array } | null,
    sender: AgentPubKey,
    reason: RefusalReason,
    detail: string,
  ) =>
    Effect.gen(function* () {
      counterOf(space).refused++
      if (record !== null) {
        yield* attempt("Incoming.refuse", () =>
          insertRefused.run(
            record.action_hash,
            space,
            record.author,
            sender,
            reason,
            detail.slice(0, 1000),
            clockMicros(clock),
          ))
      }
      yield* Effect.logInfo(
        `network: refused ${record === null ? "a record" : encodeHashB64(record.action_hash)} ` +
          `from ${encodeHashB64(sender)} in ${encodeHashB64(space)}: ${reason}: ${
            detail.slice(0, 300)
          }`,
      )
      return { type: "refused", reason, detail } as const
    })

  const wait = (space: DnaHash, record: Record, sender: AgentPubKey, on: string) =>
    Effect.sync((): IngestOutcome => {
      const key = hashKey(record.action_hash)
      if (!waiting.has(key)) {
        if (waiting.size >= MAX_WAITING) {
          const oldest = waiting.keys().next().value
          if (oldest !== undefined) waiting.delete(oldest)
        }
        waiting.set(key, {
          space,
          record,
          sender,
          since: clockMicros(clock),
          callbackFailures: 0,
        })
      }
      return { type: "waiting", on }
    })

  /** System validation; a string refuses, `{ wait }` waits, null passes. */
  const systemCheck = (space: DnaHash, record: Record) =>
    Effect.gen(function* () {
      const action = record.action
      if (action.action_seq === 0) {
        if (action.type !== "dna" || action.prev_action !== null) {
          return "InvalidChain: a chain starts with its dna action"
        }
        if (
          !bytesEqual(action.dna_hash, space)
        ) return "InvalidChain: the dna action is for another DNA"
      } else {
        if (action.type === "dna" || action.prev_action === null) {
          return "InvalidChain: only the first action of a chain has no previous action"
        }
        const prev = yield* spaces.getAction(space, action.prev_action)
        if (prev === null) return { wait: `previous action ${encodeHashB64(action.prev_action)}` }
        if (!bytesEqual(prev.action.author, action.author)) {
          return "InvalidChain: the previous action has another author"
        }
        if (prev.action.action_seq + 1 !== action.action_seq) {
          return `InvalidChain: sequence ${action.action_seq} follows ${prev.action.action_seq}`
        }
        if (prev.action.timestamp >= action.timestamp) {
          return "InvalidChain: the timestamp is not after the previous action's"
        }
      }
      const other = selectAt.get(space, action.author, action.action_seq) as
        | { hash: Uint8Array }
        | undefined
      if (other !== undefined && !bytesEqual(other.hash, record.action_hash)) {
        return `ChainFork: ${encodeHashB64(other.hash)} is already at sequence ${action.action_seq}`
      }
      const dependency = action.type === "update"
        ? action.original_action_address
        : action.type === "delete"
        ? action.deletes_address
        : action.type === "delete_link"
        ? action.link_add_address
        : null
      if (dependency !== null && (yield* spaces.getAction(space, dependency)) === null) {
        return { wait: `${action.type} target ${encodeHashB64(dependency)}` }
      }
      const isPublic = (action.type === "create" || action.type === "update") &&
        !isPrivateEntryType(action)
      if (isPublic && record.entry === null) return "Malformed: a public entry is missing"
      if (!isPublic && record.entry !== null) return "Malformed: an entry travels without need"
      return null
    })

  const validatorCell = (space: DnaHash): RunningCell | undefined =>
    cells.all().find((cell) => bytesEqual(cell.cellId[0], space))

  /** Checks and integrates a decoded, verified record (under the space's lock). */
  const process = (space: DnaHash, record: Record, sender: AgentPubKey, pending?: Waiting) =>
    Effect.gen(function* () {
      if (held(record.action_hash)) return { type: "held", record } as IngestOutcome
      const system = yield* systemCheck(space, record)
      if (typeof system === "string") {
        const [reason, ...rest] = system.split(": ")
        return yield* refuse(
          space,
          { action_hash: record.action_hash, author: record.action.author },
          sender,
          reason as RefusalReason,
          rest.join(": "),
        )
      }
      if (system !== null) return yield* wait(space, record, sender, system.wait)
      const cell = validatorCell(space)
      if (cell === undefined) return yield* wait(space, record, sender, "a local cell")
      const entryPrivate = isPrivateEntryType(record.action)
      const workspace = new Workspace(
        space,
        record.action.author,
        null,
        noSigner,
        hasher,
        () => clockMicros(clock),
      )
      const validated = yield* Effect.result(
        Effect.provideService(
          validate(cell, workspace, [{ record, entryPrivate }]),
          Spaces,
          spaces,
        ),
      )
      if (validated._tag === "Failure") {
        const failure = validated.failure
        const author = { "action_hash": record.action_hash, author: record.action.author }
        switch (failure.reason) {
          case "Invalid":
            return yield* refuse(space, author, sender, "Invalid", failure.detail)
          case "Unresolved":
            return yield* wait(space, record, sender, failure.detail)
          case "CallbackFailed": {
            const failures = (pending?.callbackFailures ?? 0) + 1
            if (failures >= MAX_CALLBACK_FAILURES) {
              return yield* refuse(space, author, sender, "CallbackFailed", failure.detail)
            }
            if (pending !== undefined) pending.callbackFailures = failures
            return yield* wait(space, record, sender, failure.detail)
          }
        }
      }
      const written = yield* Effect.result(
        attempt("Incoming.integrate", () =>
          store.transaction(() => {
            const integration = chain.writeForeign(space, record, entryPrivate)
            spaces.integrate(space, [integration])
          })),
      )
      if (written._tag === "Failure") {
        // The same record integrated meanwhile (another copy), or a fork won the race.
        if (held(record.action_hash)) return { type: "held", record } as IngestOutcome
        const other = selectAt.get(space, record.action.author, record.action.action_seq)
        if (other !== undefined) {
          return yield* refuse(
            space,
            { action_hash: record.action_hash, author: record.action.author },
            sender,
            "ChainFork",
            `another action is already at sequence ${record.action.action_seq}`,
          )
        }
        return yield* written.failure
      }
      counterOf(space).integrated++
      return { type: "integrated", record } as IngestOutcome
    })

  const ingest = (space: DnaHash, body: unknown, sender: AgentPubKey) =>
    Effect.gen(function* () {
      const decoded = decodeRecord(body)
      if (typeof decoded === "string") {
        return yield* refuse(space, null, sender, "Malformed", decoded)
      }
      if (known(space, decoded.action_hash)) {
        return held(decoded.action_hash)
          ? { type: "held", record: decoded } as IngestOutcome
          : { type: "refused", reason: "Invalid", detail: "refused before" } as IngestOutcome
      }
      if (!verifiedRecord(hasher, decoded, decoded.action_hash)) {
        return yield* refuse(
          space,
          { action_hash: decoded.action_hash, author: decoded.action.author },
          sender,
          "BadSignature",
          "the action hash, the author's signature or the entry hash does not verify",
        )
      }
      if (waiting.has(hashKey(decoded.action_hash))) {
        return { type: "waiting", on: "already waiting" } as IngestOutcome
      }
      return yield* lockOf(space).withPermits(1)(process(space, decoded, sender))
    })

  const retryWaiting = () =>
    Effect.gen(function* () {
      const integrated: Array<{ space: DnaHash; record: Record }> = []
      let progress = true
      // Each pass may resolve what the next one needs (a chain arriving out of order).
      while (progress && waiting.size > 0) {
        progress = false
        const now = clockMicros(clock)
        for (const [key, entry] of [...waiting]) {
          if (now - entry.since > MAX_WAIT_MICROS) {
            waiting.delete(key)
            yield* Effect.logInfo(
              `network: gave up waiting for the dependencies of ${
                encodeHashB64(entry.record.action_hash)
              }`,
            )
            continue
          }
          const outcome = yield* lockOf(entry.space).withPermits(1)(
            process(entry.space, entry.record, entry.sender, entry),
          )
          if (outcome.type !== "waiting") waiting.delete(key)
          if (outcome.type === "integrated") {
            integrated.push({ space: entry.space, record: entry.record })
            progress = true
          }
        }
      }
      return integrated
    })

  return Incoming.of({
    ingest,
    retryWaiting,
    known,
    counts: (space) => {
      const c = counterOf(space)
      let w = 0
      for (const entry of waiting.values()) if (bytesEqual(entry.space, space)) w++
      return { integrated: c.integrated, refused: c.refused, waiting: w }
    },
  })
})

/** Records from other conductors: checks, validation, integration. */
export class Incoming extends Context.Service<Incoming, IncomingShape>()(
  "conductor/network_nats/Incoming",
) {
  static readonly layer = Layer.effect(Incoming, makeIncoming)
}
