/**
 * The subject layout (network.md §4). A space is a DNA hash and an agent an agent key, both in
 * their base64url HoloHash form (`uhC0k…`, `uhCAk…`: letters, digits, `-` and `_`, safe as
 * NATS tokens). Subjects route; they never identify: the envelope's signature does.
 *
 * - `k2.<space>.op.<sector>`: published ops, one sector of 512 by the op's basis location;
 *   a full arc subscribes to `k2.<space>.op.>`.
 * - `k2.<space>.ai`: signed agent infos (join, refresh, tombstone), broadcast.
 * - `k2.<space>.ag.<agent>.<kind>`: one agent's inbox, request/reply or plain messages:
 *   `rcpt` (validation receipts), `sync` and `fetch` (repair), and the kinds of the requests
 *   that plug in through `Inbox.register` (`get`, `links`, `activity`, `call`, `signal`, …).
 * - `k2.<space>.get.<sector>`: authority queries (reads plug in there).
 *
 * @module
 */
import { encodeHashB64 } from "../hash/mod.ts"

/** The DHT has 512 sectors (kitsune2's `SECTOR_SIZE = 2^23`). */
export const SECTORS = 512

/** The sector of a u32 DHT location. */
export function sectorOf(location: number): number {
  return location >>> 23
}

const token = (hash: Uint8Array) => encodeHashB64(hash)

/** Subjects of one space. */
export function spaceSubjects(space: Uint8Array) {
  const prefix = `k2.${token(space)}`
  return {
    /** Ops of one sector. */
    op: (sector: number) => `${prefix}.op.${sector}`,
    /** Every op of the space (a full arc). */
    allOps: `${prefix}.op.>`,
    /** Agent infos. */
    agentInfo: `${prefix}.ai`,
    /** A message kind in an agent's inbox. */
    inbox: (agent: Uint8Array, kind: string) => `${prefix}.ag.${token(agent)}.${kind}`,
    /** Every kind of an agent's inbox. */
    inboxAll: (agent: Uint8Array) => `${prefix}.ag.${token(agent)}.*`,
    /** Authority queries of one sector. */
    get: (sector: number) => `${prefix}.get.${sector}`,
    /** Every authority query of the space (a full arc). */
    allGets: `${prefix}.get.*`,
  }
}

/** The last token of a subject (an inbox message's kind). */
export function lastToken(subject: string): string {
  const dot = subject.lastIndexOf(".")
  return dot < 0 ? subject : subject.slice(dot + 1)
}
