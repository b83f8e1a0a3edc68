/**
 * Migration 4: what the network refused. A record another conductor sent that failed its
 * checks (hash, signature, system or app validation, a chain fork) is recorded here once, by
 * action hash, so that it is never fetched or validated again and operators can see who sent
 * what and why (core/network/nats/incoming.ts).
 *
 * @module
 */

/** The SQL of migration 4. */
export const sql = `
CREATE TABLE network_refused (
  action_hash BLOB PRIMARY KEY,
  dna_hash BLOB NOT NULL,
  author BLOB NOT NULL,
  sender BLOB NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  refused_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX network_refused_by_dna ON network_refused (dna_hash);
`
