/**
 * The recovery receptor's storage, synchronous over one SQLite connection. A session is its
 * current entries (key → JSON text), a baseline, and a line of checkpoints; each checkpoint row
 * holds only what that command changed (forward) and what it replaced (inverse), so a checkpoint
 * costs the size of the change, not of the session. Undo applies an inverse, redo a forward; the
 * checkpoints after the current position are the redo line and any new checkpoint deletes them.
 *
 * Integrity: each checkpoint row carries the SHA-256 of its content, checked whenever it is
 * applied and at start; the session carries a digest of its entries (the sum of each entry's
 * SHA-256 modulo 2^256, so a change updates it in the size of the change), checked at start.
 * A session that fails a check is quarantined: kept, reported, and refused until aborted.
 *
 * Every write is one `BEGIN IMMEDIATE … COMMIT`; an operation returns only after its commit, so
 * an acknowledged checkpoint survives a crash of the process and a half-written one never shows.
 * Domain failures are thrown as `ReceptorError` inside the transaction (rolling it back) and
 * pass through `storageAttempt` unchanged.
 *
 * @module
 */
import { createHash } from "node:crypto"
import type { RecoveryReceptorConfig } from "../../core/config/mod.ts"
import {
  checkKey as checkKeyOf,
  encodeValue,
  ReceptorError,
  type ReceptorErrorReason,
  utf8Bytes,
} from "../../core/receptors/mod.ts"
import type { StoreShape } from "../../core/store/mod.ts"
import { FORMAT_VERSION } from "./migrations.ts"

/** One change: `[key, json]` sets, `[key]` deletes. Values are JSON text. */
export type Change = readonly [key: string] | readonly [key: string, json: string]

interface SessionRow {
  readonly "session_id": string
  readonly "lifecycle_state": string
  readonly "format_version": number
  readonly label: string | null
  readonly position: number
  readonly "base_seq": number
  readonly digest: string
  readonly bytes: number
  readonly "created_at_ms": number
  readonly "updated_at_ms": number
  readonly "quarantine_reason": string | null
}

interface DeltaRow {
  readonly seq: number
  readonly forward: string
  readonly inverse: string
  readonly label: string | null
  readonly hash: string
}

/** A session as listings show it. */
export interface SessionInfo {
  readonly session: string
  readonly state: "open" | "quarantined"
  readonly label: string | null
  /** Checkpoints that can be undone. */
  readonly undo: number
  /** Checkpoints that can be redone. */
  readonly redo: number
  readonly entries: number
  readonly bytes: number
  readonly "format_version": number
  readonly "updated_at_ms": number
  readonly "quarantine_reason"?: string
}

/** What a session returns after a move. */
export interface Position {
  readonly session: string
  readonly undo: number
  readonly redo: number
  /** True when no checkpoint is applied any more: the session is back at its baseline. */
  readonly "at_baseline": boolean
}

const MOD = 1n << 256n

/** SHA-256 of an entry as a number, the term it adds to a session digest. */
function entryTerm(key: string, json: string): bigint {
  const hash = createHash("sha256").update(key).update("\0").update(json).digest("hex")
  return BigInt(`0x${hash}`)
}

function addTerm(digest: bigint, term: bigint, sign: 1 | -1): bigint {
  return ((digest + BigInt(sign) * term) % MOD + MOD) % MOD
}

function hex(digest: bigint): string {
  return digest.toString(16).padStart(64, "0")
}

function deltaHash(forward: string, inverse: string, label: string | null): string {
  return createHash("sha256").update(forward).update("\0").update(inverse).update("\0")
    .update(label ?? "").digest("hex")
}

/** Serialises changes whose values are already JSON text, without re-encoding the values. */
export function encodeChanges(changes: ReadonlyArray<Change>): string {
  return `[${
    changes.map((c) =>
      c.length === 1 ? `[${JSON.stringify(c[0])}]` : `[${JSON.stringify(c[0])},${c[1]}]`
    )
      .join(",")
  }]`
}

function decodeChanges(text: string): Array<Change> {
  const parsed = JSON.parse(text) as Array<[string] | [string, unknown]>
  return parsed.map((c) => c.length === 1 ? [c[0]] : [c[0], JSON.stringify(c[1])])
}

/** Limits a session store enforces (from the receptor's config). */
export type SessionLimits = Pick<
  RecoveryReceptorConfig,
  | "id"
  | "max_key_bytes"
  | "max_value_bytes"
  | "max_changes"
  | "max_session_bytes"
  | "max_undo"
  | "max_sessions"
>

/** Opens the session store over a migrated recovery file. */
export function makeSessionStore(store: StoreShape, limits: SessionLimits) {
  const fail = (operation: string, reason: ReceptorErrorReason, detail: string) =>
    new ReceptorError({ receptorId: limits.id, operation: `recovery.${operation}`, reason, detail })

  const q = {
    session: store.prepare("SELECT * FROM session WHERE session_id = ?"),
    sessions: store.prepare("SELECT * FROM session ORDER BY updated_at_ms DESC, session_id"),
    openCount: store.prepare("SELECT count(*) AS n FROM session"),
    ended: store.prepare("SELECT outcome FROM session_end WHERE session_id = ?"),
    insertSession: store.prepare(
      `INSERT INTO session (session_id, lifecycle_state, format_version, label, position, base_seq,
       digest, bytes, created_at_ms, updated_at_ms) VALUES (?, 'open', ?, ?, 0, 0, ?, ?, ?, ?)`,
    ),
    moveSession: store.prepare(
      `UPDATE session SET position = ?, base_seq = ?, digest = ?, bytes = ?, updated_at_ms = ?
       WHERE session_id = ?`,
    ),
    quarantine: store.prepare(
      "UPDATE session SET lifecycle_state = 'quarantined', quarantine_reason = ? WHERE session_id = ?",
    ),
    deleteSession: store.prepare("DELETE FROM session WHERE session_id = ?"),
    insertEnd: store.prepare(
      "INSERT OR REPLACE INTO session_end (session_id, outcome, ended_at_ms) VALUES (?, ?, ?)",
    ),
    pruneEnds: store.prepare(
      `DELETE FROM session_end WHERE session_id NOT IN
       (SELECT session_id FROM session_end ORDER BY ended_at_ms DESC LIMIT 10000)`,
    ),
    entry: store.prepare("SELECT value FROM session_entry WHERE session_id = ? AND key = ?"),
    entries: store.prepare(
      "SELECT key, value FROM session_entry WHERE session_id = ? ORDER BY key",
    ),
    entryCount: store.prepare("SELECT count(*) AS n FROM session_entry WHERE session_id = ?"),
    putEntry: store.prepare(
      "INSERT OR REPLACE INTO session_entry (session_id, key, value) VALUES (?, ?, ?)",
    ),
    deleteEntry: store.prepare("DELETE FROM session_entry WHERE session_id = ? AND key = ?"),
    delta: store.prepare(
      "SELECT seq, forward, inverse, label, hash FROM session_delta WHERE session_id = ? AND seq = ?",
    ),
    deltas: store.prepare(
      "SELECT seq, forward, inverse, label, hash FROM session_delta WHERE session_id = ? ORDER BY seq",
    ),
    head: store.prepare(
      // max() on the primary key's prefix is one index probe; count(*) would read every row.
      "SELECT coalesce(max(seq), 0) AS head FROM session_delta WHERE session_id = ?",
    ),
    insertDelta: store.prepare(
      `INSERT INTO session_delta (session_id, seq, forward, inverse, label, hash, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    clearRedo: store.prepare("DELETE FROM session_delta WHERE session_id = ? AND seq > ?"),
    dropDelta: store.prepare("DELETE FROM session_delta WHERE session_id = ? AND seq = ?"),
  }

  const row = (id: string) => q.session.get(id) as SessionRow | undefined
  const headOf = (id: string) => q.head.get(id) as { head: number }

  /** The session, open; otherwise the error that says why not. */
  const openRow = (operation: string, id: string, allowQuarantined = false): SessionRow => {
    const found = row(id)
    if (found === undefined) {
      const ended = q.ended.get(id) as { outcome: string } | undefined
      if (ended !== undefined) {
        throw fail(operation, "Closed", `session "${id}" was ${ended.outcome}`)
      }
      throw fail(operation, "NotFound", `no session "${id}"`)
    }
    if (found.lifecycle_state === "quarantined" && !allowQuarantined) {
      throw fail(
        operation,
        "Quarantined",
        `session "${id}" is quarantined (${found.quarantine_reason}); abort it to discard it`,
      )
    }
    return found
  }

  const where = (operation: string) => ({
    receptorId: limits.id,
    operation: `recovery.${operation}`,
  })
  const checkKey = (operation: string, key: string) =>
    checkKeyOf(where(operation), key, limits.max_key_bytes)

  /** Encodes and bounds changes given as values. */
  const toChanges = (
    operation: string,
    set: Readonly<Record<string, unknown>>,
    remove: ReadonlyArray<string>,
  ): Array<Change> => {
    const keys = Object.keys(set)
    if (keys.length + remove.length > limits.max_changes) {
      throw fail(
        operation,
        "TooLarge",
        `${keys.length + remove.length} changes, more than max_changes ${limits.max_changes}`,
      )
    }
    const changes: Array<Change> = []
    const seen = new Set<string>()
    for (const key of keys) {
      checkKey(operation, key)
      const json = encodeValue(where(operation), key, set[key], limits.max_value_bytes)
      seen.add(key)
      changes.push([key, json])
    }
    for (const key of remove) {
      checkKey(operation, key)
      if (seen.has(key)) throw fail(operation, "InvalidInput", `"${key}" is both set and deleted`)
      seen.add(key)
      changes.push([key])
    }
    return changes
  }

  /** Applies changes to the entries; returns the inverse and the new digest and size. */
  const apply = (
    operation: string,
    session: SessionRow,
    changes: ReadonlyArray<Change>,
    digestIn: bigint,
  ) => {
    let digest = digestIn
    let bytes = session.bytes
    const inverse: Array<Change> = []
    for (const change of changes) {
      const [key] = change
      const old = (q.entry.get(session.session_id, key) as { value: string } | undefined)?.value
      if (old !== undefined) {
        digest = addTerm(digest, entryTerm(key, old), -1)
        bytes -= utf8Bytes(key) + utf8Bytes(old)
        inverse.push([key, old])
      } else {
        inverse.push([key])
      }
      if (change.length === 2) {
        q.putEntry.run(session.session_id, key, change[1])
        digest = addTerm(digest, entryTerm(key, change[1]), 1)
        bytes += utf8Bytes(key) + utf8Bytes(change[1])
      } else if (old !== undefined) {
        q.deleteEntry.run(session.session_id, key)
      }
    }
    if (bytes > limits.max_session_bytes) {
      throw fail(
        operation,
        "TooLarge",
        `session "${session.session_id}" would hold ${bytes} bytes, more than max_session_bytes ${limits.max_session_bytes}`,
      )
    }
    return { inverse: inverse.reverse(), digest, bytes }
  }

  const positionOf = (id: string, position: number, base: number): Position => {
    const { head } = headOf(id)
    return {
      session: id,
      undo: position - base,
      redo: head - position,
      "at_baseline": position === base,
    }
  }

  const quarantine = (id: string, reason: string) =>
    store.transaction(() => q.quarantine.run(reason, id))

  /**
   * Loads a checkpoint row and checks its hash; a mismatch quarantines the session. Called
   * before the write transaction so that the mark is not rolled back with it.
   */
  const verifiedDelta = (operation: string, session: SessionRow, seq: number) => {
    const delta = q.delta.get(session.session_id, seq) as DeltaRow | undefined
    if (delta === undefined) return undefined
    if (deltaHash(delta.forward, delta.inverse, delta.label) !== delta.hash) {
      const reason = `checkpoint ${seq} does not match its hash`
      quarantine(session.session_id, reason)
      throw fail(
        operation,
        "Quarantined",
        `session "${session.session_id}" is now quarantined: ${reason}`,
      )
    }
    return delta
  }

  /** Applies a stored delta (undo: its inverse, redo: its forward) and moves the position. */
  const move = (
    operation: string,
    session: SessionRow,
    changes: string,
    step: 1 | -1,
    now: number,
  ) => {
    const digest = BigInt(`0x${session.digest}`)
    const applied = apply(operation, session, decodeChanges(changes), digest)
    const position = session.position + step
    const id = session.session_id
    q.moveSession.run(position, session.base_seq, hex(applied.digest), applied.bytes, now, id)
    return positionOf(id, position, session.base_seq)
  }

  return {
    /** Opens a session whose baseline is `initial`. */
    open(
      id: string,
      label: string | null,
      initial: Readonly<Record<string, unknown>>,
      now: number,
    ) {
      const changes = toChanges("open", initial, [])
      return store.transaction(() => {
        if (row(id) !== undefined || q.ended.get(id) !== undefined) {
          throw fail("open", "Conflict", `session id "${id}" is already in use`)
        }
        const { n } = q.openCount.get() as { n: number }
        if (n >= limits.max_sessions) {
          throw fail(
            "open",
            "LimitReached",
            `${n} sessions are open, max_sessions is ${limits.max_sessions}`,
          )
        }
        q.insertSession.run(id, FORMAT_VERSION, label, hex(0n), 0, now, now)
        const session = row(id)!
        const { digest, bytes } = apply("open", session, changes, 0n)
        q.moveSession.run(0, 0, hex(digest), bytes, now, id)
        return positionOf(id, 0, 0)
      })
    },

    /** Records one command's changes as the next checkpoint; clears the redo line. */
    checkpoint(
      id: string,
      set: Readonly<Record<string, unknown>>,
      remove: ReadonlyArray<string>,
      label: string | null,
      now: number,
    ) {
      const changes = toChanges("checkpoint", set, remove)
      return store.transaction(() => {
        const session = openRow("checkpoint", id)
        q.clearRedo.run(id, session.position)
        const applied = apply("checkpoint", session, changes, BigInt(`0x${session.digest}`))
        const forward = encodeChanges(changes)
        const inverse = encodeChanges(applied.inverse)
        const seq = session.position + 1
        q.insertDelta.run(id, seq, forward, inverse, label, deltaHash(forward, inverse, label), now)
        let base = session.base_seq
        if (seq - base > limits.max_undo) {
          // The oldest checkpoint folds into the baseline: the entries already hold its effect.
          q.dropDelta.run(id, base + 1)
          base++
        }
        q.moveSession.run(seq, base, hex(applied.digest), applied.bytes, now, id)
        return { ...positionOf(id, seq, base), seq }
      })
    },

    /** Undoes the last applied checkpoint. */
    undo(id: string, now: number) {
      const session = openRow("undo", id)
      const delta = verifiedDelta("undo", session, session.position)
      return store.transaction(() => {
        if (session.position === session.base_seq) {
          throw fail(
            "undo",
            "NothingToUndo",
            session.base_seq === 0
              ? `session "${id}" is at its baseline: nothing to undo`
              : `session "${id}" is at its oldest kept checkpoint (max_undo ${limits.max_undo}): nothing to undo`,
          )
        }
        if (delta === undefined) {
          throw fail("undo", "Storage", `checkpoint ${session.position} is missing`)
        }
        return move("undo", session, delta.inverse, -1, now)
      })
    },

    /** Redoes the next undone checkpoint. */
    redo(id: string, now: number) {
      const session = openRow("redo", id)
      const delta = verifiedDelta("redo", session, session.position + 1)
      return store.transaction(() => {
        if (delta === undefined) {
          throw fail("redo", "NothingToRedo", `session "${id}" has nothing undone to redo`)
        }
        return move("redo", session, delta.forward, 1, now)
      })
    },

    /** The session's entries (all, or the given keys; absent keys are left out). */
    entries(id: string, keys: ReadonlyArray<string> | undefined) {
      const session = openRow("get", id)
      const out: Record<string, unknown> = {}
      if (keys === undefined) {
        for (const e of q.entries.iterate(id) as Iterable<{ key: string; value: string }>) {
          out[e.key] = JSON.parse(e.value)
        }
      } else {
        for (const key of keys) {
          const found = q.entry.get(id, key) as { value: string } | undefined
          if (found !== undefined) out[key] = JSON.parse(found.value)
        }
      }
      return {
        ...positionOf(id, session.position, session.base_seq),
        label: session.label,
        entries: out,
      }
    },

    /** Ends a session (committed or aborted) and deletes its rows. */
    end(id: string, outcome: "committed" | "aborted", now: number) {
      return store.transaction(() => {
        openRow(outcome === "committed" ? "commit" : "abort", id, outcome === "aborted")
        q.deleteSession.run(id)
        q.insertEnd.run(id, outcome, now)
        q.pruneEnds.run()
        return { session: id, outcome }
      })
    },

    /** Marks a session quarantined (its own transaction). */
    quarantine,

    /** Every session, newest first. */
    list(): Array<SessionInfo> {
      return (q.sessions.all() as unknown as Array<SessionRow>).map((s) => {
        const { head } = headOf(s.session_id)
        const entries = (q.entryCount.get(s.session_id) as { n: number }).n
        return {
          session: s.session_id,
          state: s.lifecycle_state === "quarantined" ? "quarantined" : "open",
          label: s.label,
          undo: s.position - s.base_seq,
          redo: Math.max(0, head - s.position),
          entries,
          bytes: s.bytes,
          "format_version": s.format_version,
          "updated_at_ms": s.updated_at_ms,
          ...(s.quarantine_reason === null ? {} : { "quarantine_reason": s.quarantine_reason }),
        }
      })
    },

    /**
     * Checks one format 2 session: the entries against the digest, every checkpoint against its
     * hash, the position inside the checkpoint line. Returns what is wrong, or undefined.
     */
    verify(id: string): string | undefined {
      const session = row(id)
      if (session === undefined) return "the session row is missing"
      let digest = 0n
      let bytes = 0
      for (const e of q.entries.iterate(id) as Iterable<{ key: string; value: string }>) {
        digest = addTerm(digest, entryTerm(e.key, e.value), 1)
        bytes += utf8Bytes(e.key) + utf8Bytes(e.value)
      }
      if (hex(digest) !== session.digest) return "its entries do not match the session digest"
      if (bytes !== session.bytes) return "its entries do not add up to the recorded size"
      let expected = session.base_seq + 1
      for (const d of q.deltas.iterate(id) as Iterable<DeltaRow>) {
        if (d.seq !== expected) return `checkpoint ${expected} is missing`
        if (deltaHash(d.forward, d.inverse, d.label) !== d.hash) {
          return `checkpoint ${d.seq} does not match its hash`
        }
        expected++
      }
      if (session.position < session.base_seq || session.position > expected - 1) {
        return `its position ${session.position} is outside its checkpoints`
      }
      return undefined
    },

    /** Rows that still need their format read: every session with its format_version. */
    formats(): Array<{ id: string; format: number; state: string; reason: string | null }> {
      return (q.sessions.all() as unknown as Array<SessionRow>).map((s) => ({
        id: s.session_id,
        format: s.format_version,
        state: s.lifecycle_state,
        reason: s.quarantine_reason,
      }))
    },

    /**
     * Converts one format 1 session (whole snapshots on an undo and a redo stack) to format 2 in
     * one transaction: the states become a line of deltas from an empty baseline, the current
     * state becomes the entries. Throws an `Error` saying what is wrong with a bad session.
     */
    convertV1(id: string, now: number) {
      store.transaction(() => {
        const session = row(id)!
        const rows = store.prepare(
          `SELECT checkpoint_id, stack_kind, stack_pos, snapshot_blob, snapshot_hash
           FROM recovery_checkpoint WHERE session_id = ? ORDER BY stack_kind DESC, stack_pos`,
        ).all(id) as unknown as Array<{
          checkpoint_id: string
          stack_kind: "undo" | "redo"
          stack_pos: number
          snapshot_blob: string
          snapshot_hash: string
        }>
        const states = new Map<string, Map<string, string>>()
        for (const r of rows) {
          const hash = createHash("sha256").update(r.snapshot_blob).digest("hex")
          if (hash !== r.snapshot_hash) {
            throw new Error(`format 1 snapshot ${r.checkpoint_id} does not match its hash`)
          }
          const parsed: unknown = JSON.parse(r.snapshot_blob)
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            throw new Error(`format 1 snapshot ${r.checkpoint_id} is not a JSON object`)
          }
          states.set(
            r.checkpoint_id,
            new Map(Object.entries(parsed).map(([k, v]) => [k, JSON.stringify(v)])),
          )
        }
        const undo = rows.filter((r) => r.stack_kind === "undo" && r.stack_pos >= 0)
        // The redo stack's top (highest position) is the next state forward.
        const redo = rows.filter((r) => r.stack_kind === "redo").reverse()
        const latest = (q.session.get(id) as { latest_checkpoint_id: string | null } | undefined)
          ?.latest_checkpoint_id ?? null
        const line = undo.map((r) => r.checkpoint_id)
        let position = line.length
        if (latest !== null && latest !== line.at(-1)) {
          // A detached crash checkpoint newer than the undo top: it becomes the last state, and
          // the redo line (which it superseded) is dropped.
          if (!states.has(latest)) throw new Error(`latest checkpoint ${latest} is missing`)
          line.push(latest)
          position = line.length
        } else {
          line.push(...redo.map((r) => r.checkpoint_id))
        }
        const sequence = line.map((checkpoint) => states.get(checkpoint)!)
        let current: ReadonlyMap<string, string> = new Map()
        const diff = (from: ReadonlyMap<string, string>, to: ReadonlyMap<string, string>) => {
          const changes: Array<Change> = []
          for (const [key, value] of to) if (from.get(key) !== value) changes.push([key, value])
          for (const key of from.keys()) if (!to.has(key)) changes.push([key])
          return changes
        }
        for (const [index, state] of sequence.entries()) {
          const f = encodeChanges(diff(current, state))
          const i = encodeChanges(diff(state, current))
          q.insertDelta.run(id, index + 1, f, i, null, deltaHash(f, i, null), now)
          current = state
        }
        let digest = 0n
        let bytes = 0
        for (
          const [key, value] of position === 0 ? new Map<string, string>() : sequence[position - 1]!
        ) {
          q.putEntry.run(id, key, value)
          digest = addTerm(digest, entryTerm(key, value), 1)
          bytes += utf8Bytes(key) + utf8Bytes(value)
        }
        store.prepare("DELETE FROM recovery_checkpoint WHERE session_id = ?").run(id)
        store.prepare(
          "UPDATE session SET format_version = ?, lifecycle_state = 'open', latest_checkpoint_id = NULL WHERE session_id = ?",
        ).run(FORMAT_VERSION, id)
        q.moveSession.run(position, 0, hex(digest), bytes, now, session.session_id)
      })
    },
  }
}

/** The session store's type. */
export type SessionStore = ReturnType<typeof makeSessionStore>
