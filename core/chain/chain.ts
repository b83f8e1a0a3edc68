/**
 * The `Chain` service: per-agent source chains. It caches each chain's head, opens workspaces,
 * commits a workspace atomically (actions, entries, and their integration into the DNA's space,
 * in one SQLite transaction), answers `query` over one chain, and verifies a chain end to end
 * (hash links, signatures, sequence numbers). It does not validate app rules; workflows do that
 * before they commit.
 *
 * @module
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { decode, encode } from "../codec/mod.ts"
import { verifySignature } from "../crypto/mod.ts"
import {
  type ActionHash,
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  encodeHashB64,
  hashCore,
  Hasher,
  hashKey,
} from "../hash/mod.ts"
import { Keystore, type KeystoreError } from "../keystore/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store, StoreError } from "../store/mod.ts"
import { clockMicros } from "../time/mod.ts"
import {
  type Action,
  type ActionType,
  encodeAction,
  type Entry,
  type EntryType,
  type Record,
} from "../types/mod.ts"
import { type ChainHead, entryHashOf, type PendingRecord, Workspace } from "./workspace.ts"

/** A commit that could not happen. */
export class ChainError extends Schema.TaggedError<ChainError>()("ChainError", {
  reason: Schema.Literals(["HeadMoved", "Storage"]),
  detail: Schema.String,
}) {
  override get message(): string {
    return `source chain: ${this.detail}`
  }
}

/** A text key for an entry type, as stored in `actions.entry_type` and used by `query`. */
export function entryTypeKey(entryType: EntryType): string {
  return entryType.type === "app"
    ? `app:${entryType.zome_index}:${entryType.entry_index}`
    : entryType.type
}

/** What `query` selects (abi.md §4.4 `query_1`, with entry type names already resolved). */
export interface ChainFilter {
  readonly actionTypes?: ReadonlyArray<ActionType>
  readonly entryTypes?: ReadonlyArray<string>
  /** `[start, end)` by sequence number. */
  readonly seqRange?: readonly [number, number]
  readonly includeEntries?: boolean
  readonly descending?: boolean
}

/** One problem found by `verify`. */
export interface ChainFault {
  readonly seq: number
  readonly problem: string
}

/** What the Chain offers. */
export interface ChainShape {
  /** The committed head of a chain (cached). */
  readonly head: (dna: DnaHash, agent: AgentPubKey) => ChainHead | null
  /** A workspace on top of the committed head. Waits for the keystore. */
  readonly open: (dna: DnaHash, agent: AgentPubKey) => Effect.Effect<Workspace, KeystoreError>
  /** Writes every pending record in one transaction; fails if the head moved since `open`. */
  readonly commit: (workspace: Workspace) => Effect.Effect<ReadonlyArray<PendingRecord>, ChainError>
  /** Records of one chain. Private entries are included: the chain is its author's. */
  readonly query: (
    dna: DnaHash,
    agent: AgentPubKey,
    filter: ChainFilter,
  ) => Effect.Effect<ReadonlyArray<Record>, StoreError>
  /** Checks hash links, hashes, signatures and sequence numbers of a whole chain. */
  readonly verify: (
    dna: DnaHash,
    agent: AgentPubKey,
  ) => Effect.Effect<ReadonlyArray<ChainFault>, StoreError>
  /** Number of actions on a chain. */
  readonly length: (dna: DnaHash, agent: AgentPubKey) => number
  /** Forgets cached heads of a cell (after its data is deleted). */
  readonly forget: (dna: DnaHash, agent: AgentPubKey) => void
}

interface ChainRow {
  hash: Uint8Array
  seq: number
  body: Uint8Array
  signature: Uint8Array
  "entry_hash": Uint8Array | null
}

/** Builds the chain service. */
export const makeChain = Effect.gen(function* () {
  const store = yield* Store
  const hasher = yield* Hasher
  const keystore = yield* Keystore
  const spaces = yield* Spaces
  const clock = yield* Clock.Clock
  const q = store.prepare
  const selectHead = q(
    "SELECT hash, seq, timestamp FROM actions WHERE dna_hash = ? AND author = ? ORDER BY seq DESC LIMIT 1",
  )
  const insertAction = q(
    `INSERT INTO actions (hash, dna_hash, author, seq, type, timestamp, entry_hash, entry_type, private, original_action, body, signature)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const insertEntry = q("INSERT OR IGNORE INTO entries (hash, body) VALUES (?, ?)")
  const selectEntry = q("SELECT body FROM entries WHERE hash = ?")
  const countChain = q("SELECT count(*) AS n FROM actions WHERE dna_hash = ? AND author = ?")
  const selectAll = q(
    "SELECT hash, seq, body, signature, entry_hash FROM actions WHERE dna_hash = ? AND author = ? ORDER BY seq",
  )
  const heads = new Map<string, ChainHead | null>()
  const cellKey = (dna: DnaHash, agent: AgentPubKey) => hashKey(dna) + hashKey(agent)

  const head = (dna: DnaHash, agent: AgentPubKey): ChainHead | null => {
    const key = cellKey(dna, agent)
    if (heads.has(key)) return heads.get(key)!
    const row = selectHead.get(dna, agent) as
      | { hash: Uint8Array; seq: number; timestamp: number }
      | undefined
    const found = row === undefined
      ? null
      : { hash: row.hash as ActionHash, seq: row.seq, timestamp: row.timestamp }
    heads.set(key, found)
    return found
  }

  const open = (dna: DnaHash, agent: AgentPubKey) =>
    Effect.map(
      keystore.signer(agent),
      (signer) =>
        new Workspace(dna, agent, head(dna, agent), signer, hasher, () => clockMicros(clock)),
    )

  const originalOf = (action: Action): Uint8Array | null =>
    action.type === "update"
      ? action.original_action_address
      : action.type === "delete"
      ? action.deletes_address
      : null

  const commit = Effect.fn("Chain.commit")(function* (workspace: Workspace) {
    const { dnaHash: dna, agent } = workspace
    if (workspace.pending.length === 0) return []
    const current = head(dna, agent)
    const base = workspace.base
    if (
      !(current === null ? base === null : base !== null && bytesEqual(current.hash, base.hash))
    ) {
      return yield* new ChainError({
        reason: "HeadMoved",
        detail: `the chain of ${
          encodeHashB64(agent)
        } moved while this call ran; nothing was written`,
      })
    }
    const pending = [...workspace.pending]
    yield* Effect.try({
      try: () =>
        store.transaction(() => {
          const integrated = []
          for (const { record, entryPrivate } of pending) {
            const { action } = record
            const entryType = action.type === "create" || action.type === "update"
              ? entryTypeKey(action.entry_type)
              : null
            const entryHash = action.type === "create" || action.type === "update"
              ? action.entry_hash
              : null
            const inserted = insertAction.run(
              record.action_hash,
              dna,
              agent,
              action.action_seq,
              action.type,
              action.timestamp,
              entryHash,
              entryType,
              entryPrivate ? 1 : 0,
              originalOf(action),
              encodeAction(action),
              record.signature,
            )
            if (record.entry !== null && entryHash !== null) {
              insertEntry.run(entryHash, encode(record.entry))
            }
            integrated.push({ record, entryPrivate, actionId: Number(inserted.lastInsertRowid) })
          }
          Effect.runSync(spaces.integrate(dna, integrated))
        }),
      catch: (cause) =>
        new ChainError({
          reason: "Storage",
          detail: `commit failed: ${cause instanceof Error ? cause.message : cause}`,
        }),
    })
    heads.set(cellKey(dna, agent), workspace.head)
    return pending
  })

  const query = (dna: DnaHash, agent: AgentPubKey, filter: ChainFilter) =>
    Effect.try({
      try: () => {
        const clauses = ["dna_hash = ?", "author = ?"]
        const params: Array<Uint8Array | number | string> = [dna, agent]
        if (filter.seqRange !== undefined) {
          clauses.push("seq >= ?", "seq < ?")
          params.push(filter.seqRange[0], filter.seqRange[1])
        }
        if (filter.actionTypes !== undefined) {
          clauses.push(`type IN (${filter.actionTypes.map(() => "?").join(", ") || "NULL"})`)
          params.push(...filter.actionTypes)
        }
        if (filter.entryTypes !== undefined) {
          clauses.push(`entry_type IN (${filter.entryTypes.map(() => "?").join(", ") || "NULL"})`)
          params.push(...filter.entryTypes)
        }
        const sql = `SELECT hash, seq, body, signature, entry_hash FROM actions WHERE ${
          clauses.join(" AND ")
        } ORDER BY seq ${filter.descending ? "DESC" : "ASC"}`
        const rows = q(sql).all(...params) as unknown as Array<ChainRow>
        return rows.map((row): Record => {
          let entry: Entry | null = null
          if (filter.includeEntries !== false && row.entry_hash !== null) {
            const found = selectEntry.get(row.entry_hash) as { body: Uint8Array } | undefined
            entry = found === undefined ? null : (decode(found.body) as Entry)
          }
          return {
            "action_hash": row.hash as ActionHash,
            action: decode(row.body) as Action,
            signature: row.signature,
            entry,
          }
        })
      },
      catch: (cause) => new StoreError({ operation: "Chain.query", cause }),
    })

  const verify = (dna: DnaHash, agent: AgentPubKey) =>
    Effect.try({
      try: () => {
        const faults: Array<ChainFault> = []
        let prev: { hash: Uint8Array; seq: number; timestamp: number } | null = null
        for (const row of selectAll.all(dna, agent) as unknown as Array<ChainRow>) {
          const action = decode(row.body) as Action
          const bytes = encodeAction(action)
          const fault = (problem: string) => faults.push({ seq: row.seq, problem })
          if (!bytesEqual(hasher.hashContent("action", bytes), row.hash)) {
            fault("action hash does not match its content")
          }
          if (!bytesEqual(action.author, agent)) fault("author is not the chain's agent")
          if (!verifySignature(hashCore(agent), bytes, row.signature)) {
            fault("signature does not verify")
          }
          const expectedSeq: number = prev === null ? 0 : prev.seq + 1
          if (action.action_seq !== expectedSeq || row.seq !== expectedSeq) {
            fault(`sequence ${row.seq}, expected ${expectedSeq}`)
          }
          if (
            prev === null
              ? action.prev_action !== null
              : action.prev_action === null || !bytesEqual(action.prev_action, prev.hash)
          ) {
            fault("prev_action does not link to the previous action")
          }
          if (prev !== null && action.timestamp <= prev.timestamp) {
            fault("timestamp does not increase")
          }
          if (row.entry_hash !== null) {
            const found = selectEntry.get(row.entry_hash) as { body: Uint8Array } | undefined
            if (found === undefined) fault("entry is missing")
            else if (
              !bytesEqual(entryHashOf(hasher, decode(found.body) as Entry), row.entry_hash)
            ) fault("entry hash does not match its entry")
          }
          prev = { hash: row.hash, seq: row.seq, timestamp: action.timestamp }
        }
        return faults
      },
      catch: (cause) => new StoreError({ operation: "Chain.verify", cause }),
    })

  return Chain.of({
    head,
    open,
    commit,
    query,
    verify,
    length: (dna, agent) => (countChain.get(dna, agent) as { n: number }).n,
    forget: (dna, agent) => void heads.delete(cellKey(dna, agent)),
  })
})

/** Source chains. */
export class Chain extends Context.Service<Chain, ChainShape>()("conductor/chain/Chain") {
  static readonly layer = Layer.effect(Chain, makeChain)
}
