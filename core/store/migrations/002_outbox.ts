/**
 * Migration 2: the durable outbox. Every DHT op a local agent authors gets one `outbox` row in
 * the same transaction that commits its action, so nothing acknowledged can be committed without
 * also being queued for publishing. The network (network.md §4) reads due rows, publishes each op
 * to its basis' sector, backs off (`attempts`, `next_publish_at`) and counts signed validation
 * receipts per op (distinct validators in `outbox_receipts`) until `required_receipts`, when the
 * row is marked `done_at`. Without a network the rows simply wait.
 *
 * @module
 */

/** The SQL of migration 2. */
export const sql = `
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  op_hash BLOB NOT NULL UNIQUE,
  action_id INTEGER NOT NULL,
  op_type INTEGER NOT NULL,
  dna_hash BLOB NOT NULL,
  author BLOB NOT NULL,
  basis BLOB NOT NULL,
  basis_loc INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  required_receipts INTEGER NOT NULL,
  receipts INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_publish_at INTEGER NOT NULL,
  last_published_at INTEGER,
  done_at INTEGER
);
CREATE INDEX outbox_due ON outbox (next_publish_at, id) WHERE done_at IS NULL;
CREATE INDEX outbox_by_cell ON outbox (dna_hash, author);

CREATE TABLE outbox_receipts (
  op_id INTEGER NOT NULL,
  validator BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (op_id, validator)
) WITHOUT ROWID;
`
