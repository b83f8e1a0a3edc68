/**
 * The `Spaces` service: the local DHT store, one space per DNA. Every op an agent of this
 * conductor authors is integrated at once, inside the commit transaction, into the shared
 * tables, and reads (`get`, `get_details`, `get_links`, `must_get_*`, agent activity, live
 * capability grants) are answered from them, so agents of the same DNA in one conductor see each
 * other's public data. The ops to publish wait in the `Outbox` (./outbox.ts). It does not author
 * or validate; the source chain and the workflows do.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { decode, encode } from "../codec/mod.ts"
import type { ActionHash, AgentPubKey, DnaHash } from "../hash/mod.ts"
import { bytesEqual, hashKey, hashTypeOf } from "../hash/mod.ts"
import { Store, StoreError } from "../store/mod.ts"
import {
  type Action,
  type CapGrant,
  DHT_OP_TYPES,
  type Entry,
  opsForAction,
  type Record,
  type SignedAction,
} from "../types/mod.ts"

/** A live link (abi.md §3.3, without the type name, which the ribosome adds). */
export interface LinkRow {
  readonly createLinkHash: ActionHash
  readonly author: AgentPubKey
  readonly timestamp: number
  readonly base: Uint8Array
  readonly target: Uint8Array
  readonly zomeIndex: number
  readonly linkType: number
  readonly tag: Uint8Array
}

/** Which links `getLinks` returns. */
export interface LinkQuery {
  readonly base: Uint8Array
  /** Only links of these `[zome_index, link_type]` pairs; empty means none, undefined means any. */
  readonly types?: ReadonlyArray<readonly [number, number]>
  readonly tagPrefix?: Uint8Array
  readonly author?: AgentPubKey
}

/** One link as authorities hand it out: its signed creation and, once deleted, its deletion. */
export interface LinkActivity {
  readonly create: SignedAction
  readonly delete: SignedAction | null
}

/** `get_details` of an action hash. */
export interface RecordDetails {
  readonly type: "record"
  readonly record: Record
  readonly deletes: ReadonlyArray<SignedAction>
  readonly updates: ReadonlyArray<SignedAction>
}

/** `get_details` of an entry hash. */
export interface EntryDetails {
  readonly type: "entry"
  readonly entry: Entry
  readonly actions: ReadonlyArray<SignedAction>
  readonly deletes: ReadonlyArray<SignedAction>
  readonly updates: ReadonlyArray<SignedAction>
  readonly entryDhtStatus: "live" | "dead"
}

/** A live capability grant on a cell's chain. */
export interface LiveGrant {
  readonly actionHash: ActionHash
  readonly grant: CapGrant
  readonly createdAt: number
  readonly revokedAt: number | null
}

/** A record as the chain commits it, with what integration needs to know. */
export interface IntegrationRecord {
  readonly record: Record
  readonly entryPrivate: boolean
  /** The row id the chain stored the action under. */
  readonly actionId: number
}

/** What a space offers. Every method is synchronous underneath; reads never block on I/O. */
export interface SpacesShape {
  /**
   * Integrates committed records into the DNA's space (ops, links, grants). Synchronous and
   * throwing: the commit workflow calls it inside the commit's SQLite transaction, which rolls
   * back everything if it throws.
   */
  readonly integrate: (dna: DnaHash, records: ReadonlyArray<IntegrationRecord>) => void
  /** A record by action hash, or the oldest live record of an entry hash. */
  readonly get: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
  ) => Effect.Effect<Record | null, StoreError>
  readonly getDetails: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
  ) => Effect.Effect<RecordDetails | EntryDetails | null, StoreError>
  readonly getLinks: (
    dna: DnaHash,
    query: LinkQuery,
  ) => Effect.Effect<ReadonlyArray<LinkRow>, StoreError>
  /**
   * The link activity on a base for other conductors (the network's authority answers): the
   * signed `create_link` actions `query` selects, oldest first, at most `limit`, each with the
   * `delete_link` that deleted it (when held here).
   */
  readonly linkActivity: (
    dna: DnaHash,
    query: LinkQuery,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<LinkActivity>, StoreError>
  /** The author's latest action held in this space (highest sequence), or null. */
  readonly latestAction: (
    dna: DnaHash,
    author: AgentPubKey,
  ) => Effect.Effect<SignedAction | null, StoreError>
  /** A signed action by hash (validation dependency). */
  readonly getAction: (
    dna: DnaHash,
    hash: Uint8Array,
  ) => Effect.Effect<SignedAction | null, StoreError>
  /** An entry by hash, if any action in this space carries it publicly (or `viewer` authored it). */
  readonly getEntry: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey | null,
  ) => Effect.Effect<Entry | null, StoreError>
  /** The author's actions from `chainTop` back to the first one, newest first. */
  readonly agentActivity: (
    dna: DnaHash,
    author: AgentPubKey,
    chainTop: Uint8Array,
  ) => Effect.Effect<ReadonlyArray<SignedAction> | null, StoreError>
  /** Capability grants on a cell's chain; revoked ones only when asked. */
  readonly grants: (
    dna: DnaHash,
    author: AgentPubKey,
    includeRevoked: boolean,
  ) => Effect.Effect<ReadonlyArray<LiveGrant>, StoreError>
  /** Forgets what is cached about a cell (after a rolled-back transaction). */
  readonly forget: (dna: DnaHash, author: AgentPubKey) => void
  /**
   * Deletes what a cell authored into the space (ops, links, grants). Synchronous and throwing;
   * run it inside the transaction that deletes the cell, before its chain is deleted.
   */
  readonly deleteCell: (dna: DnaHash, author: AgentPubKey) => void
  /** Counts for `storage_info` and metrics. */
  readonly stats: (
    dna: DnaHash,
  ) => Effect.Effect<{ readonly ops: number; readonly bytes: number }, StoreError>
}

interface ActionRow {
  hash: Uint8Array
  author: Uint8Array
  body: Uint8Array
  signature: Uint8Array
  "entry_hash": Uint8Array | null
  private: number
}

const ACTION_COLUMNS = "hash, author, body, signature, entry_hash, private"

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && bytesEqual(bytes.subarray(0, prefix.length), prefix)
}

/** Builds the local-only spaces over the Store. */
export const makeLocalSpaces = Effect.gen(function* () {
  const store = yield* Store
  const q = store.prepare
  const insertOp = q(
    "INSERT OR IGNORE INTO dht_ops (action_id, type, basis, validation_status, when_integrated) VALUES (?, ?, ?, 'valid', ?)",
  )
  const insertLink = q(
    "INSERT OR IGNORE INTO links (create_hash, dna_hash, base, target, zome_index, link_type, tag, author, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  )
  const deleteLink = q(
    "UPDATE links SET deleted_by = ? WHERE create_hash = ? AND deleted_by IS NULL",
  )
  const insertGrant = q(
    "INSERT OR IGNORE INTO cap_grants (action_hash, dna_hash, author, tag, access_type, secret, assignees, functions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  )
  const revokeGrant = q(
    "UPDATE cap_grants SET revoked_at = ? WHERE action_hash = ? AND revoked_at IS NULL",
  )
  const selectAction = q(`SELECT ${ACTION_COLUMNS} FROM actions WHERE hash = ? AND dna_hash = ?`)
  const selectEntry = q("SELECT body FROM entries WHERE hash = ?")
  const selectLiveByEntry = q(
    `SELECT ${ACTION_COLUMNS} FROM actions a WHERE a.entry_hash = ? AND a.dna_hash = ? AND a.type IN ('create', 'update')
     AND NOT EXISTS (SELECT 1 FROM actions d WHERE d.original_action = a.hash AND d.type = 'delete')
     ORDER BY a.timestamp, a.hash LIMIT 1`,
  )
  const selectByEntry = q(
    `SELECT ${ACTION_COLUMNS} FROM actions WHERE entry_hash = ? AND dna_hash = ? AND type IN ('create', 'update') ORDER BY timestamp, hash`,
  )
  const selectByOriginal = q(
    `SELECT ${ACTION_COLUMNS} FROM actions WHERE original_action = ? AND type = ? ORDER BY timestamp, hash`,
  )
  const selectUpdatesOfEntry = q(
    `SELECT ${ACTION_COLUMNS} FROM actions WHERE dna_hash = ? AND type = 'update' AND original_action IN
       (SELECT hash FROM actions WHERE entry_hash = ? AND dna_hash = ?) ORDER BY timestamp, hash`,
  )
  const selectLinks = q(
    "SELECT create_hash, author, timestamp, base, target, zome_index, link_type, tag FROM links WHERE dna_hash = ? AND base = ? AND deleted_by IS NULL ORDER BY timestamp, create_hash",
  )
  const selectLinkActivity = q(
    "SELECT create_hash, deleted_by, author, zome_index, link_type, tag FROM links WHERE dna_hash = ? AND base = ? ORDER BY timestamp, create_hash",
  )
  const selectLatest = q(
    `SELECT ${ACTION_COLUMNS} FROM actions WHERE dna_hash = ? AND author = ? ORDER BY seq DESC LIMIT 1`,
  )
  const selectChainUpTo = q(
    `SELECT ${ACTION_COLUMNS} FROM actions WHERE dna_hash = ? AND author = ? AND seq <= ? ORDER BY seq DESC`,
  )
  const selectGrants = q(
    "SELECT action_hash, tag, access_type, secret, assignees, functions, created_at, revoked_at FROM cap_grants WHERE dna_hash = ? AND author = ? ORDER BY created_at",
  )
  const countOps = q(
    "SELECT count(*) AS n FROM dht_ops o JOIN actions a ON a.id = o.action_id WHERE a.dna_hash = ?",
  )
  const sumBytes = q(
    "SELECT coalesce(sum(length(a.body)), 0) + coalesce(sum((SELECT length(e.body) FROM entries e WHERE e.hash = a.entry_hash)), 0) AS n FROM actions a WHERE a.dna_hash = ?",
  )

  const deleteCellOps = q(
    "DELETE FROM dht_ops WHERE action_id IN (SELECT id FROM actions WHERE dna_hash = ? AND author = ?)",
  )
  const deleteCellLinks = q("DELETE FROM links WHERE dna_hash = ? AND author = ?")
  const deleteCellGrants = q("DELETE FROM cap_grants WHERE dna_hash = ? AND author = ?")

  const attempt = <A>(operation: string, f: () => A) =>
    Effect.try({ try: f, catch: (cause) => new StoreError({ operation, cause }) })

  const toSigned = (row: ActionRow): SignedAction => ({
    "action_hash": row.hash as ActionHash,
    action: decode(row.body) as Action,
    signature: row.signature,
  })

  const entryFor = (row: ActionRow, viewer: AgentPubKey | null): Entry | null => {
    if (row.entry_hash === null) return null
    if (row.private === 1 && (viewer === null || !bytesEqual(viewer, row.author))) return null
    const entry = selectEntry.get(row.entry_hash) as { body: Uint8Array } | undefined
    return entry === undefined ? null : (decode(entry.body) as Entry)
  }

  const toRecord = (row: ActionRow, viewer: AgentPubKey | null): Record => ({
    ...toSigned(row),
    entry: entryFor(row, viewer),
  })

  // Live grants per cell, read on every zome call that is not the chain author's. A commit that
  // could change them (a grant, an update or a delete) drops the cell's entry; so does forget().
  const grantCache = new Map<string, ReadonlyArray<LiveGrant>>()
  const cellKey = (dna: Uint8Array, author: Uint8Array) => hashKey(dna) + hashKey(author)

  const integrate = (dna: DnaHash, records: ReadonlyArray<IntegrationRecord>): void => {
    for (const { record, entryPrivate, actionId } of records) {
      const { action, action_hash: hash } = record
      if (
        action.type === "update" || action.type === "delete" ||
        record.entry?.entry_type === "cap_grant"
      ) {
        grantCache.delete(cellKey(dna, action.author))
      }
      for (const op of opsForAction(action, hash, !entryPrivate)) {
        insertOp.run(actionId, DHT_OP_TYPES.indexOf(op.type), op.basis, action.timestamp)
      }
      switch (action.type) {
        case "create_link":
          insertLink.run(
            hash,
            dna,
            action.base_address,
            action.target_address,
            action.zome_index,
            action.link_type,
            action.tag,
            action.author,
            action.timestamp,
          )
          break
        case "delete_link":
          deleteLink.run(hash, action.link_add_address)
          break
        case "create":
        case "update":
          if (record.entry?.entry_type === "cap_grant") {
            const grant = record.entry.entry
            const access = grant.access
            insertGrant.run(
              hash,
              dna,
              action.author,
              grant.tag,
              access.type,
              access.type === "unrestricted" ? null : access.value.secret,
              access.type === "assigned" ? encode(access.value.assignees) : null,
              encode(grant.functions),
              action.timestamp,
            )
          }
          // Updating a grant replaces it: the original stops authorising.
          if (action.type === "update") {
            revokeGrant.run(action.timestamp, action.original_action_address)
          }
          break
        case "delete":
          revokeGrant.run(action.timestamp, action.deletes_address)
          break
      }
    }
  }

  const get = (dna: DnaHash, hash: Uint8Array, viewer: AgentPubKey) =>
    attempt("Spaces.get", () => {
      const type = hashTypeOf(hash)
      if (type === "action") {
        const row = selectAction.get(hash, dna) as ActionRow | undefined
        return row === undefined ? null : toRecord(row, viewer)
      }
      if (type === "entry") {
        const row = selectLiveByEntry.get(hash, dna) as ActionRow | undefined
        if (row === undefined) return null
        const record = toRecord(row, viewer)
        // A private entry is invisible to others: not even its existence shows.
        return record.entry === null ? null : record
      }
      return null
    })

  const getDetails = (dna: DnaHash, hash: Uint8Array, viewer: AgentPubKey) =>
    attempt("Spaces.getDetails", (): RecordDetails | EntryDetails | null => {
      const type = hashTypeOf(hash)
      if (type === "action") {
        const row = selectAction.get(hash, dna) as ActionRow | undefined
        if (row === undefined) return null
        return {
          type: "record",
          record: toRecord(row, viewer),
          deletes: (selectByOriginal.all(hash, "delete") as unknown as Array<ActionRow>).map(
            toSigned,
          ),
          updates: (selectByOriginal.all(hash, "update") as unknown as Array<ActionRow>).map(
            toSigned,
          ),
        }
      }
      if (type !== "entry") return null
      const rows = selectByEntry.all(hash, dna) as unknown as Array<ActionRow>
      const visible = rows.filter((row) => row.private === 0 || bytesEqual(row.author, viewer))
      const first = visible[0]
      if (first === undefined) return null
      const entry = entryFor(first, viewer)
      if (entry === null) return null
      const deletes = visible.flatMap((row) =>
        (selectByOriginal.all(row.hash, "delete") as unknown as Array<ActionRow>).map(toSigned)
      )
      const deleted = new Set(
        deletes.flatMap((
          d,
        ) => (d.action.type === "delete" ? [hashKey(d.action.deletes_address)] : [])),
      )
      const live = visible.some((row) => !deleted.has(hashKey(row.hash)))
      return {
        type: "entry",
        entry,
        actions: visible.map(toSigned),
        deletes,
        updates: (selectUpdatesOfEntry.all(dna, hash, dna) as unknown as Array<ActionRow>).map(
          toSigned,
        ),
        entryDhtStatus: live ? "live" : "dead",
      }
    })

  const getLinks = (dna: DnaHash, query: LinkQuery) =>
    attempt("Spaces.getLinks", () => {
      const rows = selectLinks.all(dna, query.base) as unknown as Array<{
        create_hash: Uint8Array
        author: Uint8Array
        timestamp: number
        base: Uint8Array
        target: Uint8Array
        zome_index: number
        link_type: number
        tag: Uint8Array
      }>
      return rows
        .filter((row) =>
          (query.types === undefined ||
            query.types.some(([z, t]) => z === row.zome_index && t === row.link_type)) &&
          (query.tagPrefix === undefined || startsWith(row.tag, query.tagPrefix)) &&
          (query.author === undefined || bytesEqual(row.author, query.author))
        )
        .map((row): LinkRow => ({
          createLinkHash: row.create_hash as ActionHash,
          author: row.author as AgentPubKey,
          timestamp: row.timestamp,
          base: row.base,
          target: row.target,
          zomeIndex: row.zome_index,
          linkType: row.link_type,
          tag: row.tag,
        }))
    })

  const linkActivity = (dna: DnaHash, query: LinkQuery, limit: number) =>
    attempt("Spaces.linkActivity", () => {
      const rows = selectLinkActivity.all(dna, query.base) as unknown as Array<{
        create_hash: Uint8Array
        deleted_by: Uint8Array | null
        author: Uint8Array
        zome_index: number
        link_type: number
        tag: Uint8Array
      }>
      const out: Array<LinkActivity> = []
      for (const row of rows) {
        if (out.length >= limit) break
        if (
          !((query.types === undefined ||
            query.types.some(([z, t]) => z === row.zome_index && t === row.link_type)) &&
            (query.tagPrefix === undefined || startsWith(row.tag, query.tagPrefix)) &&
            (query.author === undefined || bytesEqual(row.author, query.author)))
        ) continue
        const create = selectAction.get(row.create_hash, dna) as ActionRow | undefined
        if (create === undefined) continue
        const deleted = row.deleted_by === null
          ? undefined
          : selectAction.get(row.deleted_by, dna) as ActionRow | undefined
        out.push({
          create: toSigned(create),
          delete: deleted === undefined ? null : toSigned(deleted),
        })
      }
      return out
    })

  const latestAction = (dna: DnaHash, author: AgentPubKey) =>
    attempt("Spaces.latestAction", () => {
      const row = selectLatest.get(dna, author) as ActionRow | undefined
      return row === undefined ? null : toSigned(row)
    })

  const getAction = (dna: DnaHash, hash: Uint8Array) =>
    attempt("Spaces.getAction", () => {
      const row = selectAction.get(hash, dna) as ActionRow | undefined
      return row === undefined ? null : toSigned(row)
    })

  const getEntry = (dna: DnaHash, hash: Uint8Array, viewer: AgentPubKey | null) =>
    attempt("Spaces.getEntry", () => {
      for (const row of selectByEntry.all(hash, dna) as unknown as Array<ActionRow>) {
        const entry = entryFor(row, viewer)
        if (entry !== null) return entry
      }
      return null
    })

  const agentActivity = (dna: DnaHash, author: AgentPubKey, chainTop: Uint8Array) =>
    attempt("Spaces.agentActivity", () => {
      const top = selectAction.get(chainTop, dna) as ActionRow | undefined
      if (top === undefined || !bytesEqual(top.author, author)) return null
      const topAction = decode(top.body) as Action
      return (selectChainUpTo.all(dna, author, topAction.action_seq) as unknown as Array<ActionRow>)
        .map(toSigned)
    })

  const grants = (
    dna: DnaHash,
    author: AgentPubKey,
    includeRevoked: boolean,
  ): Effect.Effect<ReadonlyArray<LiveGrant>, StoreError> =>
    Effect.suspend(() => {
      if (includeRevoked) return readGrants(dna, author, true)
      const key = cellKey(dna, author)
      const cached = grantCache.get(key)
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.map(readGrants(dna, author, false), (live) => {
        grantCache.set(key, live)
        return live
      })
    })

  const readGrants = (dna: DnaHash, author: AgentPubKey, includeRevoked: boolean) =>
    attempt("Spaces.grants", () =>
      (selectGrants.all(dna, author) as unknown as Array<{
        action_hash: Uint8Array
        tag: string
        access_type: "unrestricted" | "transferable" | "assigned"
        secret: Uint8Array | null
        assignees: Uint8Array | null
        functions: Uint8Array
        created_at: number
        revoked_at: number | null
      }>)
        .filter((row) => includeRevoked || row.revoked_at === null)
        .map((row): LiveGrant => {
          const access: CapGrant["access"] = row.access_type === "unrestricted"
            ? { type: "unrestricted" }
            : row.access_type === "transferable"
            ? { type: "transferable", value: { secret: row.secret! } }
            : {
              type: "assigned",
              value: {
                secret: row.secret!,
                assignees: decode(row.assignees!) as Array<AgentPubKey>,
              },
            }
          return {
            actionHash: row.action_hash as ActionHash,
            grant: {
              tag: row.tag,
              access,
              functions: decode(row.functions) as CapGrant["functions"],
            },
            createdAt: row.created_at,
            revokedAt: row.revoked_at,
          }
        }))

  const stats = (dna: DnaHash) =>
    attempt("Spaces.stats", () => ({
      ops: (countOps.get(dna) as { n: number }).n,
      bytes: (sumBytes.get(dna) as { n: number }).n,
    }))

  return Spaces.of({
    integrate,
    get,
    getDetails,
    getLinks,
    linkActivity,
    latestAction,
    getAction,
    getEntry,
    agentActivity,
    grants,
    forget: (dna, author) => void grantCache.delete(cellKey(dna, author)),
    deleteCell: (dna, author) => {
      deleteCellOps.run(dna, author)
      deleteCellLinks.run(dna, author)
      deleteCellGrants.run(dna, author)
      grantCache.delete(cellKey(dna, author))
    },
    stats,
  })
})

/** The DHT spaces of this conductor's DNAs. */
export class Spaces extends Context.Service<Spaces, SpacesShape>()("conductor/space/Spaces") {
  /** Local-only spaces over the Store. */
  static readonly layerLocal = Layer.effect(Spaces, makeLocalSpaces)
}
