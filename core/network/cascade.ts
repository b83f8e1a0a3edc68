/**
 * The `Cascade` (Holochain's name): reads that try the local DHT store first and ask the
 * `Network` only for what is not local. What comes from the network is hostile until checked:
 * a record is used only when its action hashes to the asked (or returned) action hash, its
 * signature verifies against its author, and its entry (if any) hashes to the action's entry
 * hash; otherwise it is treated as not found. Host functions read through it (they may wait);
 * the local store stays synchronous underneath.
 *
 * Every read takes a `GetStrategy` (Holochain's): `local` never asks the network; `network`
 * (the default) does. Content-addressed reads (`get`, `getAction`, `getEntry`) ask only when the
 * data is not held here and take the first verified answer. Absence-sensitive reads (links,
 * details) also merge what peers answer with what is held here, because a local "nothing" may
 * only mean "not arrived yet": each remote action is verified on its own, so one forged item
 * never hides the honest ones. Agent activity is read locally when the chain top is held, else
 * from the network as a whole verified chain.
 *
 * Failures: a network without peers (`NoPeers`) leaves the local answer. Other network failures
 * (`Timeout`, `Unreachable`) fail a read that has nothing local to answer with (a
 * content-addressed miss, unknown activity): host functions hand that `NetworkError` to the zome
 * as a value. An absence-sensitive read keeps its local answer instead (logged), so a conductor
 * that is offline keeps working on what it holds (docs/decisions.md).
 */
import { Context, Effect, Layer } from "effect"
import { entryHashOf } from "../chain/mod.ts"
import { verifySignature } from "../crypto/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  hashCore,
  Hasher,
  type HasherShape,
  hashTypeOf,
} from "../hash/mod.ts"
import {
  type EntryDetails,
  type LinkQuery,
  type LinkRow,
  type RecordDetails,
  Spaces,
} from "../space/mod.ts"
import type { StoreError } from "../store/mod.ts"
import { encodeAction, type Entry, type Record, type SignedAction } from "../types/mod.ts"
import { Network, type NetworkError, type RemoteDetails } from "./network.ts"

/** True when a record from elsewhere is what it claims to be and answers `hash`. */
export function verifiedRecord(hasher: HasherShape, record: Record, hash: Uint8Array): boolean {
  const bytes = encodeAction(record.action)
  if (!bytesEqual(hasher.hashContent("action", bytes), record.action_hash)) return false
  if (!verifySignature(hashCore(record.action.author), bytes, record.signature)) return false
  const action = record.action
  const entryHash = action.type === "create" || action.type === "update" ? action.entry_hash : null
  if (record.entry !== null) {
    if (entryHash === null || !bytesEqual(entryHashOf(hasher, record.entry), entryHash)) {
      return false
    }
  }
  return hashTypeOf(hash) === "entry"
    ? entryHash !== null && bytesEqual(entryHash, hash) && record.entry !== null
    : bytesEqual(record.action_hash, hash)
}

/** True when a signed action from elsewhere hashes to its `action_hash` and its author signed it. */
export function verifiedAction(hasher: HasherShape, signed: SignedAction): boolean {
  const bytes = encodeAction(signed.action)
  return bytesEqual(hasher.hashContent("action", bytes), signed.action_hash) &&
    verifySignature(hashCore(signed.action.author), bytes, signed.signature)
}

/**
 * The verified chain of `author` among `actions` (newest first): it starts at `chainTop` (or at
 * the first action when null) and follows `prev_action` down to sequence 0. Null when the
 * answer is not such a chain (a forged, foreign, reordered or truncated one).
 */
export function verifiedActivity(
  hasher: HasherShape,
  author: AgentPubKey,
  chainTop: Uint8Array | null,
  actions: ReadonlyArray<SignedAction>,
): ReadonlyArray<SignedAction> | null {
  const top = actions[0]
  if (top === undefined) return null
  if (chainTop !== null && !bytesEqual(top.action_hash, chainTop)) return null
  if (actions.length !== top.action.action_seq + 1) return null
  for (const [i, signed] of actions.entries()) {
    if (!bytesEqual(signed.action.author, author) || !verifiedAction(hasher, signed)) return null
    if (signed.action.action_seq !== top.action.action_seq - i) return null
    const below = actions[i + 1]
    const prev = signed.action.prev_action
    if (
      below === undefined ? prev !== null : prev === null || !bytesEqual(prev, below.action_hash)
    ) {
      return null
    }
  }
  return actions
}

/** Whether a read may ask the network (Holochain's `GetStrategy`). */
export type GetStrategy = "network" | "local"

/** A link row of a verified `create_link`. */
function linkRowOf(signed: SignedAction): LinkRow | null {
  const a = signed.action
  if (a.type !== "create_link") return null
  return {
    createLinkHash: signed.action_hash,
    author: a.author,
    timestamp: a.timestamp,
    base: a.base_address,
    target: a.target_address,
    zomeIndex: a.zome_index,
    linkType: a.link_type,
    tag: a.tag,
  }
}

/** True when a link answers `query`. */
export function linkMatches(link: LinkRow, query: LinkQuery): boolean {
  if (!bytesEqual(link.base, query.base)) return false
  if (
    query.types !== undefined &&
    !query.types.some(([zome, type]) => zome === link.zomeIndex && type === link.linkType)
  ) return false
  if (
    query.tagPrefix !== undefined &&
    !(link.tag.length >= query.tagPrefix.length &&
      bytesEqual(link.tag.subarray(0, query.tagPrefix.length), query.tagPrefix))
  ) return false
  return query.author === undefined || bytesEqual(link.author, query.author)
}

const keyOf = (hash: Uint8Array) => hash.join()

/** Verified, de-duplicated `actions` that satisfy `keep`. */
function verifiedUnion(
  hasher: HasherShape,
  lists: ReadonlyArray<ReadonlyArray<SignedAction>>,
  keep: (signed: SignedAction) => boolean,
): Array<SignedAction> {
  const seen = new Map<string, SignedAction>()
  for (const list of lists) {
    for (const signed of list) {
      const key = keyOf(signed.action_hash)
      if (seen.has(key) || !keep(signed) || !verifiedAction(hasher, signed)) continue
      seen.set(key, signed)
    }
  }
  return [...seen.values()]
}

const deletesOf = (target: Uint8Array) => (signed: SignedAction) =>
  signed.action.type === "delete" && bytesEqual(signed.action.deletes_address, target)
const updatesOf = (target: Uint8Array) => (signed: SignedAction) =>
  signed.action.type === "update" && bytesEqual(signed.action.original_action_address, target)

/** What the Cascade offers. Every read defaults to the `network` strategy. */
export interface CascadeShape {
  /** A record by action or entry hash: local first, then a verified answer from the network. */
  readonly get: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
    strategy?: GetStrategy,
  ) => Effect.Effect<Record | null, StoreError | NetworkError>
  /** Details of a record or an entry: what is held here merged with verified remote details. */
  readonly getDetails: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
    strategy?: GetStrategy,
  ) => Effect.Effect<RecordDetails | EntryDetails | null, StoreError | NetworkError>
  /** Live links: local links merged with verified remote link activity, oldest first. */
  readonly getLinks: (
    dna: DnaHash,
    query: LinkQuery,
    strategy?: GetStrategy,
  ) => Effect.Effect<ReadonlyArray<LinkRow>, StoreError | NetworkError>
  /** A signed action by hash (validation dependency): local first, then verified remote. */
  readonly getAction: (
    dna: DnaHash,
    hash: Uint8Array,
    strategy?: GetStrategy,
  ) => Effect.Effect<SignedAction | null, StoreError | NetworkError>
  /** An entry by hash (validation dependency): local first, then verified remote. */
  readonly getEntry: (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey | null,
    strategy?: GetStrategy,
  ) => Effect.Effect<Entry | null, StoreError | NetworkError>
  /**
   * An agent's chain from `chainTop` (from its latest known action when null) down to its first
   * action, newest first: local when held (and a top is given), else a verified remote chain.
   */
  readonly agentActivity: (
    dna: DnaHash,
    author: AgentPubKey,
    chainTop: Uint8Array | null,
    strategy?: GetStrategy,
  ) => Effect.Effect<ReadonlyArray<SignedAction> | null, StoreError | NetworkError>
}

/** Builds the cascade. */
export const makeCascade = Effect.gen(function* () {
  const spaces = yield* Spaces
  const network = yield* Network
  const hasher = yield* Hasher

  /** A network answer, with `NoPeers` read as "nobody has anything". */
  const ask = <A>(effect: Effect.Effect<A, NetworkError>, none: A) =>
    Effect.catchIf(effect, (error) => error.reason === "NoPeers", () => Effect.succeed(none))

  /**
   * A network answer that only adds to what is held here: when the network fails, the local
   * answer stands (logged), so a conductor that is offline keeps working on what it has.
   */
  const merge = <A>(effect: Effect.Effect<A, NetworkError>, none: A) =>
    Effect.catch(
      effect,
      (error) =>
        error.reason === "NoPeers"
          ? Effect.succeed(none)
          : Effect.as(Effect.logDebug(`cascade: local answer only: ${error.message}`), none),
    )

  const get = Effect.fn("Cascade.get")(function* (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
    strategy: GetStrategy = "network",
  ) {
    const local = yield* spaces.get(dna, hash, viewer)
    if (local !== null || strategy === "local") return local
    const remote = yield* ask(network.get(dna, hash), null)
    return remote !== null && verifiedRecord(hasher, remote, hash) ? remote : null
  })

  const recordDetails = (
    hash: Uint8Array,
    local: RecordDetails | null,
    remote: RemoteDetails | null,
  ): RecordDetails | null => {
    const theirs = remote?.type === "record" && verifiedRecord(hasher, remote.record, hash)
      ? remote
      : null
    const record = local?.record ?? theirs?.record ?? null
    if (record === null) return null
    const lists = (pick: (d: RecordDetails) => ReadonlyArray<SignedAction>) =>
      [local, theirs].flatMap((d) => (d === null ? [] : [pick(d)]))
    return {
      type: "record",
      record,
      deletes: verifiedUnion(hasher, lists((d) => d.deletes), deletesOf(hash)),
      updates: verifiedUnion(hasher, lists((d) => d.updates), updatesOf(hash)),
    }
  }

  const entryDetails = (
    hash: Uint8Array,
    local: EntryDetails | null,
    remote: RemoteDetails | null,
  ): EntryDetails | null => {
    const theirs = remote?.type === "entry" && bytesEqual(entryHashOf(hasher, remote.entry), hash)
      ? remote
      : null
    const entry = local?.entry ?? theirs?.entry ?? null
    if (entry === null) return null
    const both = [local, theirs].flatMap((d) => (d === null ? [] : [d]))
    const actions = verifiedUnion(
      hasher,
      both.map((d) => d.actions),
      (signed) =>
        (signed.action.type === "create" || signed.action.type === "update") &&
        bytesEqual(signed.action.entry_hash, hash),
    )
    const isAction = (target: Uint8Array) => actions.some((a) => bytesEqual(a.action_hash, target))
    const deletes = verifiedUnion(
      hasher,
      both.map((d) => d.deletes),
      (s) => s.action.type === "delete" && isAction(s.action.deletes_address),
    )
    const updates = verifiedUnion(
      hasher,
      both.map((d) => d.updates),
      (s) => s.action.type === "update" && isAction(s.action.original_action_address),
    )
    const deleted = (a: SignedAction) =>
      deletes.some((d) =>
        d.action.type === "delete" && bytesEqual(d.action.deletes_address, a.action_hash)
      )
    return {
      type: "entry",
      entry,
      actions,
      deletes,
      updates,
      entryDhtStatus: actions.some((a) => !deleted(a)) ? "live" : "dead",
    }
  }

  const getDetails = Effect.fn("Cascade.getDetails")(function* (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey,
    strategy: GetStrategy = "network",
  ) {
    const local = yield* spaces.getDetails(dna, hash, viewer)
    if (strategy === "local") return local
    const remote = yield* (local === null
      ? ask(network.getDetails(dna, hash), null)
      : merge(network.getDetails(dna, hash), null))
    return hashTypeOf(hash) === "action"
      ? recordDetails(hash, local?.type === "record" ? local : null, remote)
      : entryDetails(hash, local?.type === "entry" ? local : null, remote)
  })

  const getLinks = Effect.fn("Cascade.getLinks")(function* (
    dna: DnaHash,
    query: LinkQuery,
    strategy: GetStrategy = "network",
  ) {
    const local = yield* spaces.getLinks(dna, query)
    if (strategy === "local") return local
    const remote = yield* merge(network.getLinks(dna, query), [])
    const verified = verifiedUnion(hasher, [remote], () => true)
    const deleted = new Set(
      verified.flatMap((
        s,
      ) => (s.action.type === "delete_link" ? [keyOf(s.action.link_add_address)] : [])),
    )
    const links = new Map<string, LinkRow>()
    for (const link of local) links.set(keyOf(link.createLinkHash), link)
    for (const signed of verified) {
      const link = linkRowOf(signed)
      if (link === null || !linkMatches(link, query)) continue
      const key = keyOf(link.createLinkHash)
      if (!links.has(key)) links.set(key, link)
    }
    return [...links.entries()]
      .filter(([key]) => !deleted.has(key))
      .map(([, link]) => link)
      .sort((a, b) => a.timestamp - b.timestamp)
  })

  const getAction = Effect.fn("Cascade.getAction")(function* (
    dna: DnaHash,
    hash: Uint8Array,
    strategy: GetStrategy = "network",
  ) {
    const local = yield* spaces.getAction(dna, hash)
    if (local !== null || strategy === "local") return local
    const remote = yield* ask(network.get(dna, hash), null)
    return remote !== null && verifiedRecord(hasher, remote, hash)
      ? { action: remote.action, "action_hash": remote.action_hash, signature: remote.signature }
      : null
  })

  const getEntry = Effect.fn("Cascade.getEntry")(function* (
    dna: DnaHash,
    hash: Uint8Array,
    viewer: AgentPubKey | null,
    strategy: GetStrategy = "network",
  ) {
    const local = yield* spaces.getEntry(dna, hash, viewer)
    if (local !== null || strategy === "local") return local
    const remote = yield* ask(network.get(dna, hash), null)
    return remote !== null && verifiedRecord(hasher, remote, hash) ? remote.entry : null
  })

  const agentActivity = Effect.fn("Cascade.agentActivity")(function* (
    dna: DnaHash,
    author: AgentPubKey,
    chainTop: Uint8Array | null,
    strategy: GetStrategy = "network",
  ) {
    const local = chainTop === null ? null : yield* spaces.agentActivity(dna, author, chainTop)
    if (local !== null || strategy === "local") return local
    const remote = yield* ask(network.agentActivity(dna, author, chainTop), null)
    return remote === null ? null : verifiedActivity(hasher, author, chainTop, remote)
  })

  return Cascade.of({ get, getDetails, getLinks, getAction, getEntry, agentActivity })
})

/** Local-first reads with verified network fallback. */
export class Cascade extends Context.Service<Cascade, CascadeShape>()("conductor/network/Cascade") {
  static readonly layer = Layer.effect(Cascade, makeCascade)
}
