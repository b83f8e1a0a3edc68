/**
 * Migration 2: the durable outbox. Every DHT op a local agent authors gets one `outbox` row in
 * the same transaction that commits its action, so nothing acknowledged can be committed without
 * also being queued for publishing. The network (network.md §4) reads due rows, publishes each op
 * to its basis' sector, backs off (`attempts`, `next_publish_at`) and counts signed validation
 * receipts per op (distinct validators in `outbox_receipts`) until `required_receipts`, when the
 * row is marked `done_at`. Without a network the rows simply wait.
 *
 * A row's id is `action_id * 16 + op type code`, so rows append in commit order (the cheapest
 * insert SQLite has) and an op's action is found without another index; the op's hash, basis
 * and data are derived from the action when it is read.
 *
 * @module
 */

/** The SQL of migration 2. */
export const sql = `
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  basis_loc INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  required_receipts INTEGER NOT NULL,
  receipts INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_publish_at INTEGER NOT NULL,
  last_published_at INTEGER,
  done_at INTEGER
);
CREATE INDEX outbox_due ON outbox (next_publish_at) WHERE done_at IS NULL;

CREATE TABLE outbox_receipts (
  op_id INTEGER NOT NULL,
  validator BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (op_id, validator)
) WITHOUT ROWID;
`
