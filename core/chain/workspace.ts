/**
 * A `Workspace` holds one zome call's uncommitted writes to one cell's chain: actions are
 * numbered, linked, timestamped, hashed and signed as they are appended, and become visible to
 * the same call's reads. It is synchronous and mutable on purpose (host functions append to it
 * from inside a running guest). It does not validate or persist; the workflow validates and
 * `Chain.commit` writes it in one transaction.
 *
 * @module
 */
import type { SigningKey } from "../crypto/mod.ts"
import type { ActionHash, AgentPubKey, DnaHash, EntryHash, HasherShape } from "../hash/mod.ts"
import { bytesEqual, retypeHash } from "../hash/mod.ts"
import { type Action, encodeAction, encodeEntry, type Entry, type Record } from "../types/mod.ts"

/** The hash of an entry: BLAKE2b of its canonical msgpack; an agent entry is the key retyped. */
export function entryHashOf(hasher: HasherShape, entry: Entry): EntryHash {
  return entry.entry_type === "agent"
    ? retypeHash(entry.entry, "entry")
    : hasher.hashContent("entry", encodeEntry(entry))
}

/** The top of a chain. */
export interface ChainHead {
  readonly seq: number
  readonly hash: ActionHash
  readonly timestamp: number
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** An action without the fields the chain fills in (author, timestamp, sequence, previous). */
export type ActionDraft = DistributiveOmit<
  Action,
  "author" | "timestamp" | "action_seq" | "prev_action"
>

/** An appended, signed record and what the commit needs to know about its entry. */
export interface PendingRecord {
  readonly record: Record
  /** True when the entry must stay on this chain (private app entries, grants, claims). */
  readonly entryPrivate: boolean
}

/** The uncommitted writes of one call to one cell. */
export class Workspace {
  readonly pending: Array<PendingRecord> = []
  #head: ChainHead | null

  constructor(
    readonly dnaHash: DnaHash,
    readonly agent: AgentPubKey,
    /** The head the workspace started from; commit checks it has not moved. */
    readonly base: ChainHead | null,
    private readonly signer: SigningKey,
    private readonly hasher: HasherShape,
    private readonly now: () => number,
  ) {
    this.#head = base
  }

  /** The head including uncommitted writes. */
  get head(): ChainHead | null {
    return this.#head
  }

  /** Appends an action (and its entry), returning the signed record. */
  append(draft: ActionDraft, entry: Entry | null, entryPrivate = false): PendingRecord {
    const prev = this.#head
    // Timestamps strictly increase along a chain, even when the clock does not.
    const timestamp = prev === null ? this.now() : Math.max(this.now(), prev.timestamp + 1)
    const action = {
      ...draft,
      author: this.agent,
      timestamp,
      "action_seq": prev === null ? 0 : prev.seq + 1,
      "prev_action": prev?.hash ?? null,
    } as Action
    const bytes = encodeAction(action)
    const hash = this.hasher.hashContent("action", bytes)
    const record: Record = {
      "action_hash": hash,
      action,
      signature: this.signer.sign(bytes),
      entry,
    }
    const pending = { record, entryPrivate }
    this.pending.push(pending)
    this.#head = { seq: action.action_seq, hash, timestamp }
    return pending
  }

  /** The entry hash of an entry, as the chain computes it. */
  entryHash(entry: Entry): EntryHash {
    return entryHashOf(this.hasher, entry)
  }

  /** An uncommitted record by action hash. */
  findAction(hash: Uint8Array): PendingRecord | undefined {
    return this.pending.find((p) => bytesEqual(p.record.action_hash, hash))
  }

  /** Uncommitted records that carry `entryHash`. */
  findByEntry(entryHash: Uint8Array): ReadonlyArray<PendingRecord> {
    return this.pending.filter((p) => {
      const a = p.record.action
      return (a.type === "create" || a.type === "update") && bytesEqual(a.entry_hash, entryHash)
    })
  }

  /** Drops everything appended after the first `count` records (used when a nested call fails). */
  truncate(count: number): void {
    this.pending.length = count
    const last = this.pending.at(-1)
    this.#head = last === undefined ? this.base : {
      seq: last.record.action.action_seq,
      hash: last.record.action_hash,
      timestamp: last.record.action.timestamp,
    }
  }
}
