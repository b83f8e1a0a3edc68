/**
 * Migration 1: the conductor's tables. Hashes are stored as 39-byte BLOBs, msgpack documents as
 * BLOBs, timestamps as integer microseconds. Chain data lives in rowid tables so that writes
 * append; hashes are looked up through slim indexes. (Keying wide rows by random hashes made
 * every commit dirty ~30 pages and capped writes at ~700 per second; see docs/decisions.md.)
 *
 * @module
 */

/** The SQL of migration 1. */
export const sql = `
CREATE TABLE agent_keys (
  agent BLOB PRIMARY KEY,
  sealed_seed BLOB NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE keystore_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  salt BLOB NOT NULL,
  kdf TEXT NOT NULL,
  check_value BLOB NOT NULL
);

CREATE TABLE wasm (
  hash BLOB PRIMARY KEY,
  code BLOB NOT NULL,
  metered BLOB,
  metered_info BLOB,
  metered_key TEXT
) WITHOUT ROWID;

CREATE TABLE dnas (
  dna_hash BLOB PRIMARY KEY,
  def BLOB NOT NULL,
  zomes BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE apps (
  app_id TEXT PRIMARY KEY,
  agent BLOB NOT NULL,
  manifest BLOB NOT NULL,
  status BLOB NOT NULL,
  installed_at INTEGER NOT NULL,
  roles BLOB NOT NULL
);

CREATE TABLE cells (
  dna_hash BLOB NOT NULL,
  agent BLOB NOT NULL,
  app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  role_name TEXT NOT NULL,
  clone_id TEXT,
  name TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  modifiers BLOB NOT NULL,
  original_dna_hash BLOB NOT NULL,
  dna_file BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (dna_hash, agent)
) WITHOUT ROWID;
CREATE INDEX cells_by_app ON cells (app_id);

CREATE TABLE clone_counters (
  app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  role_name TEXT NOT NULL,
  next_index INTEGER NOT NULL,
  PRIMARY KEY (app_id, role_name)
) WITHOUT ROWID;

CREATE TABLE actions (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL,
  dna_hash BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  entry_hash BLOB,
  entry_type TEXT,
  private INTEGER NOT NULL DEFAULT 0,
  original_action BLOB,
  body BLOB NOT NULL,
  signature BLOB NOT NULL,
  validation_status TEXT NOT NULL DEFAULT 'valid'
);
CREATE UNIQUE INDEX actions_by_hash ON actions (hash);
CREATE UNIQUE INDEX actions_by_chain ON actions (dna_hash, author, seq);
CREATE INDEX actions_by_entry ON actions (entry_hash) WHERE entry_hash IS NOT NULL;
CREATE INDEX actions_by_original ON actions (original_action) WHERE original_action IS NOT NULL;

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  body BLOB NOT NULL
);

CREATE TABLE links (
  id INTEGER PRIMARY KEY,
  create_hash BLOB NOT NULL UNIQUE,
  dna_hash BLOB NOT NULL,
  base BLOB NOT NULL,
  target BLOB NOT NULL,
  zome_index INTEGER NOT NULL,
  link_type INTEGER NOT NULL,
  tag BLOB NOT NULL,
  author BLOB NOT NULL,
  timestamp INTEGER NOT NULL,
  deleted_by BLOB
);
CREATE INDEX links_by_base ON links (dna_hash, base, zome_index, link_type, timestamp);

CREATE TABLE dht_ops (
  action_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  basis BLOB NOT NULL,
  validation_status TEXT NOT NULL,
  when_integrated INTEGER NOT NULL,
  PRIMARY KEY (action_id, type)
) WITHOUT ROWID;

CREATE TABLE cap_grants (
  action_hash BLOB PRIMARY KEY,
  dna_hash BLOB NOT NULL,
  author BLOB NOT NULL,
  tag TEXT NOT NULL,
  access_type TEXT NOT NULL,
  secret BLOB,
  assignees BLOB,
  functions BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX cap_grants_by_cell ON cap_grants (dna_hash, author);

CREATE TABLE app_interfaces (
  port INTEGER PRIMARY KEY,
  allowed_origins TEXT NOT NULL,
  installed_app_id TEXT,
  bind TEXT
);

-- Keyed by expiry first: new nonces land at the right edge of the one B-tree and pruning cuts
-- its left edge (a (provenance, nonce) key made every write a random one, 60-80 µs per nonce
-- past 100k rows; see docs/decisions.md, "Nonces").
CREATE TABLE nonces (
  expires_at INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  provenance BLOB NOT NULL,
  PRIMARY KEY (expires_at, nonce, provenance)
) WITHOUT ROWID;

CREATE TABLE task_outcomes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT,
  finished_at INTEGER NOT NULL
);
`
