/**
 * The recovery receptor's file schema (numbered SQL migrations, `PRAGMA user_version`) and its
 * session format (`format_version`, one per session, read at every start).
 *
 * - Format 1 stores a whole snapshot per checkpoint (MAP's recovery store v1 with our names):
 *   `recovery_checkpoint` rows on an undo and a redo stack, each with its SHA-256.
 * - Format 2 stores the session's current entries once and, per checkpoint, only what changed
 *   (a forward and an inverse delta, hash-checked). See docs/decisions.md for the measurement.
 *
 * Migration 2 adds the format 2 tables; `migrateSessionV1` converts one format 1 session at
 * start, in its own transaction, so a session that cannot be converted is quarantined alone.
 *
 * @module
 */
import type { Migration } from "../../core/store/mod.ts"

/** The session format this code writes. */
export const FORMAT_VERSION = 2

const v1 = `
CREATE TABLE recovery_session (
  session_id TEXT PRIMARY KEY,
  lifecycle_state TEXT NOT NULL DEFAULT 'open',
  latest_checkpoint_id TEXT,
  format_version INTEGER NOT NULL DEFAULT 1,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE recovery_checkpoint (
  checkpoint_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES recovery_session (session_id) ON DELETE CASCADE,
  stack_kind TEXT NOT NULL CHECK (stack_kind IN ('undo', 'redo')),
  stack_pos INTEGER NOT NULL,
  snapshot_blob TEXT NOT NULL,
  snapshot_hash TEXT NOT NULL,
  description TEXT,
  created_at_ms INTEGER NOT NULL,
  UNIQUE (session_id, stack_kind, stack_pos)
);`

const v2 = `
ALTER TABLE recovery_session RENAME TO session;
ALTER TABLE session ADD COLUMN label TEXT;
ALTER TABLE session ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN base_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE session ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN quarantine_reason TEXT;
CREATE TABLE session_entry (
  session_id TEXT NOT NULL REFERENCES session (session_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (session_id, key)
) WITHOUT ROWID;
CREATE TABLE session_delta (
  session_id TEXT NOT NULL REFERENCES session (session_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  forward TEXT NOT NULL,
  inverse TEXT NOT NULL,
  label TEXT,
  hash TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE session_end (
  session_id TEXT PRIMARY KEY,
  outcome TEXT NOT NULL CHECK (outcome IN ('committed', 'aborted')),
  ended_at_ms INTEGER NOT NULL
);`

/** Every migration of a recovery file, in order. Append only. */
export const RECOVERY_MIGRATIONS: ReadonlyArray<Migration> = [
  { version: 1, name: "snapshot sessions (format 1)", sql: v1 },
  { version: 2, name: "delta sessions (format 2)", sql: v2 },
]
