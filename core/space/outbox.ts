/**
 * The `Outbox` service: the durable queue of DHT ops this conductor's agents authored and the
 * network still has to publish (network.md §4). The commit workflow enqueues every op of a
 * commit inside the commit's own SQLite transaction (`enqueue`, synchronous), so an acknowledged
 * write always has its ops queued, across crashes and restarts. The network drains it through
 * the typed port: `due` ops are published to their basis' sector, `published` schedules the
 * next attempt with back-off (10 s doubling to 5 min), and `receipt` counts distinct validators
 * until `required_receipts`, when the op is done. Without a network, rows wait.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { decode, encode } from "../codec/mod.ts"
import {
  type ActionHash,
  type AgentPubKey,
  type DhtOpHash,
  type DnaHash,
  HASH_LENGTH,
  Hasher,
} from "../hash/mod.ts"
import { Store, StoreError } from "../store/mod.ts"
import { type Action, DHT_OP_TYPES, type DhtOpType, opsForAction } from "../types/mod.ts"
import type { IntegrationRecord } from "./space.ts"

/** Validation receipts an op needs before it stops being republished (Holochain's default). */
export const DEFAULT_REQUIRED_RECEIPTS = 5
/** First republish delay, in microseconds (network.md §4: 10 s → 5 min). */
export const PUBLISH_BACKOFF_MIN_MICROS = 10_000_000
/** Longest republish delay, in microseconds. */
export const PUBLISH_BACKOFF_MAX_MICROS = 300_000_000
/** Most rows `due` returns at once. */
export const MAX_DUE_BATCH = 1000

/** One queued op. The network builds the full signed op from the action and entry by hash. */
export interface OutboxOp {
  /** `actionId * 16 + op type code`: stable, and what `published` takes. */
  readonly id: number
  /** A `dht_op` hash of `[op type code, action hash]`. */
  readonly opHash: DhtOpHash
  readonly opType: DhtOpType
  readonly dna: DnaHash
  readonly author: AgentPubKey
  readonly actionHash: ActionHash
  /** The hash whose neighbourhood holds the op. */
  readonly basis: Uint8Array
  /** The basis' DHT location (u32); the sector is `basisLoc >>> 23` for 512 sectors. */
  readonly basisLoc: number
  readonly createdAt: number
  readonly requiredReceipts: number
  readonly receipts: number
  readonly attempts: number
  readonly nextPublishAt: number
  readonly lastPublishedAt: number | null
  readonly doneAt: number | null
}

/** What the Outbox offers. Times are microseconds since the epoch. */
export interface OutboxShape {
  /**
   * Queues every op of committed records. Synchronous and throwing: it must run inside the
   * commit transaction, so that the ops and the actions are written together or not at all.
   */
  readonly enqueue: (dna: DnaHash, records: ReadonlyArray<IntegrationRecord>, now: number) => void
  /**
   * Completes when ops were enqueued since it last completed (at once if they were), else at the
   * next enqueue: the publish loop's wake-up after a commit. Meant for one waiter.
   */
  readonly enqueued: Effect.Effect<void>
  /** Ops due for (re)publishing at `now`, oldest first, at most `limit` (≤ `MAX_DUE_BATCH`). */
  readonly due: (now: number, limit: number) => Effect.Effect<ReadonlyArray<OutboxOp>, StoreError>
  /**
   * Like `due`, for the ops of these DNAs only (a network publishes only where it has peers;
   * ops of other DNAs must not crowd them out of the batch).
   */
  readonly dueIn: (
    dnas: ReadonlyArray<DnaHash>,
    now: number,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<OutboxOp>, StoreError>
  /** The queued ops of one action (done or not). */
  readonly ofAction: (actionHash: Uint8Array) => Effect.Effect<ReadonlyArray<OutboxOp>, StoreError>
  /** Records a publish attempt of these ops at `now` and schedules the next with back-off. */
  readonly published: (ids: ReadonlyArray<number>, now: number) => Effect.Effect<void, StoreError>
  /**
   * Counts a validation receipt (already verified by the caller) from `validator` for the op
   * of `actionHash` and `opType`; a validator counts once per op. Returns the op's receipt count
   * and whether it is done, or null for an op that is not queued here.
   */
  readonly receipt: (
    op: { readonly actionHash: Uint8Array; readonly opType: DhtOpType },
    validator: AgentPubKey,
    now: number,
  ) => Effect.Effect<{ readonly receipts: number; readonly done: boolean } | null, StoreError>
  /**
   * Marks ops done before `required_receipts` (the space has fewer peers than that, and every
   * one of them sent a receipt): they stop being republished.
   */
  readonly settle: (ids: ReadonlyArray<number>, now: number) => Effect.Effect<void, StoreError>
  /** Queued ops of a DNA, not yet done and done. */
  readonly stats: (
    dna: DnaHash,
  ) => Effect.Effect<{ readonly pending: number; readonly done: number }, StoreError>
  /**
   * Deletes a cell's rows (its data is being deleted). Synchronous, inside that transaction and
   * before the cell's actions are deleted.
   */
  readonly forgetCell: (dna: DnaHash, agent: AgentPubKey) => void
}

/** The u32 DHT location of a HoloHash (its last 4 bytes, little-endian, as Holochain's `get_loc`). */
export function locationOf(hash: Uint8Array): number {
  if (hash.length !== HASH_LENGTH) return 0
  return new DataView(hash.buffer, hash.byteOffset + HASH_LENGTH - 4, 4).getUint32(0, true)
}

/** The next republish delay after `attempts` attempts. */
export function backoffMicros(attempts: number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 16)
  return Math.min(PUBLISH_BACKOFF_MIN_MICROS * 2 ** exponent, PUBLISH_BACKOFF_MAX_MICROS)
}

/** Op ids per action: an op's id is `actionId * OPS_PER_ACTION + op type code`. */
const OPS_PER_ACTION = 16

interface OutboxRow {
  id: number
  "basis_loc": number
  "created_at": number
  "required_receipts": number
  receipts: number
  attempts: number
  "next_publish_at": number
  "last_published_at": number | null
  "done_at": number | null
  "action_hash": Uint8Array
  "dna_hash": Uint8Array
  author: Uint8Array
  body: Uint8Array
  private: number
}

const COLUMNS = `o.id, o.basis_loc, o.created_at, o.required_receipts, o.receipts, o.attempts,
  o.next_publish_at, o.last_published_at, o.done_at, a.hash AS action_hash, a.dna_hash, a.author,
  a.body, a.private`
/** Joins each action to its (at most 16) ops by id range. */
const OPS_OF_ACTION =
  `outbox o ON o.id BETWEEN a.id * ${OPS_PER_ACTION} AND a.id * ${OPS_PER_ACTION} + ${
    OPS_PER_ACTION - 1
  }`

/** Builds the outbox over the Store. */
export const makeOutbox = Effect.gen(function* () {
  const store = yield* Store
  const hasher = yield* Hasher
  const q = store.prepare
  const insert = q(
    `INSERT OR IGNORE INTO outbox (id, basis_loc, created_at, required_receipts, next_publish_at)
     VALUES (?, ?, ?, ?, ?)`,
  )
  const selectDue = q(
    `SELECT ${COLUMNS} FROM outbox o JOIN actions a ON a.id = o.id / ${OPS_PER_ACTION}
     WHERE o.done_at IS NULL AND o.next_publish_at <= ? ORDER BY o.next_publish_at, o.id LIMIT ?`,
  )
  const selectDueIn = (count: number) =>
    q(
      `SELECT ${COLUMNS} FROM outbox o JOIN actions a ON a.id = o.id / ${OPS_PER_ACTION}
       WHERE o.done_at IS NULL AND o.next_publish_at <= ? AND a.dna_hash IN (${
        Array(count).fill("?").join(", ")
      }) ORDER BY o.next_publish_at, o.id LIMIT ?`,
    )
  const dueInStatements = new Map<number, ReturnType<typeof selectDueIn>>()
  const selectOfAction = q(
    `SELECT ${COLUMNS} FROM actions a JOIN ${OPS_OF_ACTION} WHERE a.hash = ? ORDER BY o.id`,
  )
  const selectAttempts = q("SELECT attempts FROM outbox WHERE id = ?")
  const markPublished = q(
    "UPDATE outbox SET attempts = attempts + 1, last_published_at = ?, next_publish_at = ? WHERE id = ?",
  )
  const markDone = q("UPDATE outbox SET done_at = ? WHERE id = ? AND done_at IS NULL")
  const selectActionId = q("SELECT id FROM actions WHERE hash = ?")
  const selectReceipts = q("SELECT receipts, required_receipts FROM outbox WHERE id = ?")
  const insertReceipt = q(
    "INSERT OR IGNORE INTO outbox_receipts (op_id, validator, received_at) VALUES (?, ?, ?)",
  )
  const countReceipt = q(
    `UPDATE outbox SET receipts = receipts + 1,
       done_at = CASE WHEN receipts + 1 >= required_receipts THEN coalesce(done_at, ?) ELSE done_at END
     WHERE id = ? RETURNING receipts, done_at`,
  )
  const countStats = q(
    `SELECT coalesce(sum(o.done_at IS NULL), 0) AS pending, coalesce(sum(o.done_at IS NOT NULL), 0) AS done
     FROM actions a JOIN ${OPS_OF_ACTION} WHERE a.dna_hash = ?`,
  )
  const cellOps =
    `SELECT o.id FROM actions a JOIN ${OPS_OF_ACTION} WHERE a.dna_hash = ? AND a.author = ?`
  const deleteReceipts = q(`DELETE FROM outbox_receipts WHERE op_id IN (${cellOps})`)
  const deleteCell = q(`DELETE FROM outbox WHERE id IN (${cellOps})`)

  const attempt = <A>(operation: string, f: () => A) =>
    Effect.try({ try: f, catch: (cause) => new StoreError({ operation, cause }) })

  const toOp = (row: OutboxRow): OutboxOp => {
    const code = row.id % OPS_PER_ACTION
    const opType = DHT_OP_TYPES[code]!
    const action = decode(row.body) as Action
    const actionHash = row.action_hash as ActionHash
    const op = opsForAction(action, actionHash, row.private === 0).find((o) => o.type === opType)
    return {
      id: row.id,
      opHash: hasher.hashContent("dht_op", encode([code, actionHash])),
      opType,
      dna: row.dna_hash as DnaHash,
      author: row.author as AgentPubKey,
      actionHash,
      basis: op?.basis ?? actionHash,
      basisLoc: row.basis_loc,
      createdAt: row.created_at,
      requiredReceipts: row.required_receipts,
      receipts: row.receipts,
      attempts: row.attempts,
      nextPublishAt: row.next_publish_at,
      lastPublishedAt: row.last_published_at,
      doneAt: row.done_at,
    }
  }

  // Wake-ups of `enqueued`: a flag for an enqueue nobody waited for, and the current waiters.
  // A waiter resumes only after the commit's synchronous transaction has finished.
  let enqueuedSince = false
  const waiters = new Set<() => void>()
  const enqueued = Effect.callback<void>((resume) => {
    if (enqueuedSince) {
      enqueuedSince = false
      resume(Effect.void)
      return
    }
    const wake = () => resume(Effect.void)
    waiters.add(wake)
    return Effect.sync(() => waiters.delete(wake))
  })
  const notifyEnqueued = () => {
    if (waiters.size === 0) {
      enqueuedSince = true
      return
    }
    const woken = [...waiters]
    waiters.clear()
    for (const wake of woken) wake()
  }

  const enqueue = (_dna: DnaHash, records: ReadonlyArray<IntegrationRecord>, now: number) => {
    if (records.length > 0) notifyEnqueued()
    for (const { record, entryPrivate, actionId } of records) {
      for (const op of opsForAction(record.action, record.action_hash, !entryPrivate)) {
        insert.run(
          actionId * OPS_PER_ACTION + DHT_OP_TYPES.indexOf(op.type),
          locationOf(op.basis),
          now,
          DEFAULT_REQUIRED_RECEIPTS,
          now,
        )
      }
    }
  }

  const due = (now: number, limit: number) =>
    attempt(
      "Outbox.due",
      () =>
        (selectDue.all(now, Math.max(0, Math.min(limit, MAX_DUE_BATCH))) as unknown as Array<
          OutboxRow
        >).map(toOp),
    )

  const dueIn = (dnas: ReadonlyArray<DnaHash>, now: number, limit: number) =>
    attempt("Outbox.dueIn", () => {
      if (dnas.length === 0) return []
      let statement = dueInStatements.get(dnas.length)
      if (statement === undefined) {
        statement = selectDueIn(dnas.length)
        dueInStatements.set(dnas.length, statement)
      }
      return (statement.all(
        now,
        ...dnas,
        Math.max(0, Math.min(limit, MAX_DUE_BATCH)),
      ) as unknown as Array<OutboxRow>).map(toOp)
    })

  const ofAction = (actionHash: Uint8Array) =>
    attempt(
      "Outbox.ofAction",
      () => (selectOfAction.all(actionHash) as unknown as Array<OutboxRow>).map(toOp),
    )

  const published = (ids: ReadonlyArray<number>, now: number) =>
    attempt("Outbox.published", () =>
      store.transaction(() => {
        for (const id of ids) {
          const row = selectAttempts.get(id) as { attempts: number } | undefined
          if (row === undefined) continue
          markPublished.run(now, now + backoffMicros(row.attempts + 1), id)
        }
      }))

  const receipt = (
    op: { readonly actionHash: Uint8Array; readonly opType: DhtOpType },
    validator: AgentPubKey,
    now: number,
  ) =>
    attempt("Outbox.receipt", () =>
      store.transaction(() => {
        const action = selectActionId.get(op.actionHash) as { id: number } | undefined
        if (action === undefined) return null
        const id = action.id * OPS_PER_ACTION + DHT_OP_TYPES.indexOf(op.opType)
        const row = selectReceipts.get(id) as
          | { receipts: number; "required_receipts": number }
          | undefined
        if (row === undefined) return null
        if (insertReceipt.run(id, validator, now).changes === 0) {
          return { receipts: row.receipts, done: row.receipts >= row.required_receipts }
        }
        const after = countReceipt.get(now, id) as { receipts: number; "done_at": number | null }
        return { receipts: after.receipts, done: after.done_at !== null }
      }))

  const settle = (ids: ReadonlyArray<number>, now: number) =>
    attempt("Outbox.settle", () =>
      store.transaction(() => {
        for (const id of ids) markDone.run(now, id)
      }))

  const stats = (dna: DnaHash) =>
    attempt("Outbox.stats", () => {
      const row = countStats.get(dna) as { pending: number; done: number }
      return { pending: row.pending, done: row.done }
    })

  return Outbox.of({
    enqueue,
    enqueued,
    due,
    dueIn,
    ofAction,
    published,
    receipt,
    settle,
    stats,
    forgetCell: (dna, agent) => {
      deleteReceipts.run(dna, agent)
      deleteCell.run(dna, agent)
    },
  })
})

/** The durable queue of authored ops awaiting publication. */
export class Outbox extends Context.Service<Outbox, OutboxShape>()("conductor/space/Outbox") {
  static readonly layer = Layer.effect(Outbox, makeOutbox)
}
