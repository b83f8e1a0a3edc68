/**
 * The `Chain` service: per-agent source chains. It caches each chain's head, opens workspaces,
 * writes a workspace's records (`write`, synchronous, inside the commit workflow's transaction,
 * refusing a workspace whose base head moved), answers `query` over one chain, and verifies a
 * chain end to end (hash links, signatures, sequence numbers). It does not validate app rules,
 * integrate into the DHT or queue publishing; the commit workflow (`../workflow/commit.ts`)
 * does those in the same transaction.
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
import type { IntegrationRecord } from "../space/mod.ts"
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
import { type ChainHead, entryHashOf, Workspace } from "./workspace.ts"

/** A commit that could not happen. */
export class ChainError extends Schema.TaggedError<ChainError>()("ChainError", {
  reason: Schema.Literals(["HeadMoved", "Storage"]),
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect()),
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
  /**
   * Writes every pending record of `workspace` (actions and entries). Synchronous and throwing
   * (`ChainError` with reason `HeadMoved` when the chain's head is no longer the workspace's
   * base): the commit workflow calls it inside its transaction and then `advance`s the head.
   */
  readonly write: (workspace: Workspace) => ReadonlyArray<IntegrationRecord>
  /**
   * Writes a record another conductor authored, already verified and validated (the network's
   * integration of what it holds for the DHT). Synchronous and throwing, inside the caller's
   * transaction; a second action at the same place of the same chain (a fork) violates the
   * chain's uniqueness and throws.
   */
  readonly writeForeign: (
    dna: DnaHash,
    record: Record,
    entryPrivate: boolean,
  ) => IntegrationRecord
  /** Moves the cached head to a committed workspace's head (after its transaction committed). */
  readonly advance: (workspace: Workspace) => void
  /** True when the chain's head is still `workspace.base`. */
  readonly isCurrent: (workspace: Workspace) => boolean
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
  /** Forgets cached heads of a cell (after a rolled-back transaction). */
  readonly forget: (dna: DnaHash, agent: AgentPubKey) => void
  /**
   * Deletes a cell's chain (its actions and the entries no other action carries). Synchronous
   * and throwing; run it inside the transaction that deletes the cell.
   */
  readonly deleteCell: (dna: DnaHash, agent: AgentPubKey) => void
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
  const selectCellEntries = q(
    "SELECT DISTINCT entry_hash FROM actions WHERE dna_hash = ? AND author = ? AND entry_hash IS NOT NULL",
  )
  const deleteActions = q("DELETE FROM actions WHERE dna_hash = ? AND author = ?")
  const deleteOrphanEntry = q(
    "DELETE FROM entries WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM actions WHERE entry_hash = ?)",
  )
  const heads = new Map<string, ChainHead | null>()
  // Keys by hash object: a running cell passes the same arrays on every call, so its key is
  // built (and its string hash computed) once rather than per call. Hashes are never mutated.
  const cellKeys = new WeakMap<DnaHash, WeakMap<AgentPubKey, string>>()
  const cellKey = (dna: DnaHash, agent: AgentPubKey): string => {
    let byAgent = cellKeys.get(dna)
    if (byAgent === undefined) {
      byAgent = new WeakMap()
      cellKeys.set(dna, byAgent)
    }
    let key = byAgent.get(agent)
    if (key === undefined) {
      key = hashKey(dna) + hashKey(agent)
      byAgent.set(agent, key)
    }
    return key
  }

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

  const isCurrent = (workspace: Workspace) => {
    const current = head(workspace.dnaHash, workspace.agent)
    const base = workspace.base
    return current === null ? base === null : base !== null && bytesEqual(current.hash, base.hash)
  }

  const write = (workspace: Workspace): ReadonlyArray<IntegrationRecord> => {
    const { dnaHash: dna, agent } = workspace
    if (!isCurrent(workspace)) {
      throw new ChainError({
        reason: "HeadMoved",
        detail: `the chain of ${
          encodeHashB64(agent)
        } moved while this call ran; nothing was written`,
      })
    }
    const written: Array<IntegrationRecord> = []
    for (const { record, entryPrivate } of workspace.pending) {
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
      written.push({ record, entryPrivate, actionId: Number(inserted.lastInsertRowid) })
    }
    return written
  }

  const writeForeign = (dna: DnaHash, record: Record, entryPrivate: boolean) => {
    const { action } = record
    const entryHash = action.type === "create" || action.type === "update"
      ? action.entry_hash
      : null
    const inserted = insertAction.run(
      record.action_hash,
      dna,
      action.author,
      action.action_seq,
      action.type,
      action.timestamp,
      entryHash,
      action.type === "create" || action.type === "update" ? entryTypeKey(action.entry_type) : null,
      entryPrivate ? 1 : 0,
      originalOf(action),
      encodeAction(action),
      record.signature,
    )
    if (record.entry !== null && entryHash !== null && !entryPrivate) {
      insertEntry.run(entryHash, encode(record.entry))
    }
    return { record, entryPrivate, actionId: Number(inserted.lastInsertRowid) }
  }

  const deleteCell = (dna: DnaHash, agent: AgentPubKey) => {
    const entries = selectCellEntries.all(dna, agent) as Array<{ "entry_hash": Uint8Array }>
    deleteActions.run(dna, agent)
    for (const { entry_hash: hash } of entries) deleteOrphanEntry.run(hash, hash)
    heads.delete(cellKey(dna, agent))
  }

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
    write,
    writeForeign,
    advance: (workspace) =>
      void heads.set(cellKey(workspace.dnaHash, workspace.agent), workspace.head),
    isCurrent,
    query,
    verify,
    length: (dna, agent) => (countChain.get(dna, agent) as { n: number }).n,
    forget: (dna, agent) => void heads.delete(cellKey(dna, agent)),
    deleteCell,
  })
})

/** Source chains. */
export class Chain extends Context.Service<Chain, ChainShape>()("conductor/chain/Chain") {
  static readonly layer = Layer.effect(Chain, makeChain)
}
