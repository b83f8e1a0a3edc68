/**
 * The `NetworkShape` methods that reach other agents for data and calls, and the handlers that
 * answer them on the other side. Every request and answer is a signed envelope through the
 * `Inbox` (./inbox.ts): `ask` to one agent's inbox, whose answer must be signed by that agent.
 *
 * - Reads (`get`, `getDetails`, `getLinks`, `agentActivity`) ask up to `READ_FANOUT` live
 *   holders (non-empty arcs), chosen at random, in parallel, each bounded by
 *   `request_timeout_ms`. Content-addressed reads (`get`) take the first answer that verifies
 *   (hash, signature, entry hash: `verifiedRecord`). Absence-sensitive reads (links, details,
 *   activity) gather every answer that arrives until all asked have answered or `GATHER_GRACE_MS`
 *   after the first, so one slow or dead peer never stalls a read, and a peer that withholds is
 *   outvoted by the union; the Cascade verifies every item. An answer is decoded with bounds
 *   (count, size) before anything looks at it.
 * - `callRemote` asks the target agent (`call`): the body carries the zome, function, payload,
 *   cap secret and an expiry; the callee checks expiry and replay (./remote_call.ts), then runs
 *   an ordinary zome call with the caller as provenance, so its capability grants decide.
 * - `sendRemoteSignal` tells each target (`signal`, no answer); the receiver runs the zome's
 *   `recv_remote_signal` as a zome call with the sender as provenance (the zome grants it).
 *
 * The handlers (`registerRemote`) answer from this conductor's spaces: private entries never
 * leave (`publicRecord`), answers are bounded (`MAX_ITEMS`).
 *
 * @module
 */
import { Clock, Deferred, Effect, Fiber } from "effect"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js"
import {
  type AgentPubKey,
  type DnaHash,
  encodeHashB64,
  isHoloHash,
  makeHasher,
} from "../hash/mod.ts"
import {
  NetworkError,
  type NetworkShape,
  type RemoteCallOutcome,
  type RemoteDetails,
  verifiedRecord,
} from "../network/mod.ts"
import { type LinkQuery, Spaces } from "../space/mod.ts"
import { clockMicros } from "../time/mod.ts"
import {
  MAX_ENTRY_BYTES,
  type Record,
  recordWire,
  type SignedAction,
  signedActionWire,
} from "../types/mod.ts"
import { ZomeCalls } from "../workflow/mod.ts"
import type { InboxShape } from "./inbox.ts"
import { decodeRecord, publicRecord } from "./records.ts"
import {
  callWindowProblem,
  decodeCallRequest,
  decodeOutcome,
  decodeSignal,
  encodeCallRequest,
  encodeOutcome,
  encodeSignal,
  NonceCache,
} from "./remote_call.ts"
import { firstLocal, type NatsStateShape } from "./state.ts"

/** Holders asked by one read. */
export const READ_FANOUT = 3
/** How long an absence-sensitive read waits for more answers after the first one. */
export const GATHER_GRACE_MS = 150
/** Most items (actions, links) in one answer. */
export const MAX_ITEMS = 10_000

/** What the remote methods may use. */
export interface RemoteDeps {
  readonly inbox: InboxShape
  readonly state: NatsStateShape
  /**
   * True while the NATS connection is up (`NatsConnection.connected`). When given, requests
   * made while it is down fail at once (`Unreachable`) instead of waiting for their timeout.
   */
  readonly connected?: () => boolean
}

/** The remote methods of the NATS network. */
export type RemoteMethods = Pick<
  NetworkShape,
  "get" | "getDetails" | "getLinks" | "agentActivity" | "callRemote" | "sendRemoteSignal"
>

// Verification needs a hasher synchronously; noble's BLAKE2b is enough for answers.
const hasher = makeHasher((data, outLen) => nobleBlake2b(data, { dkLen: outLen }))

const failure = (reason: NetworkError["reason"], operation: string, detail: string) =>
  new NetworkError({ reason, operation, detail })

/** Decodes a signed action from an answer; null when malformed. */
function decodeSigned(value: unknown): SignedAction | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null
  const record = decodeRecord({ ...(value as object), entry: null })
  return typeof record === "string"
    ? null
    : { action: record.action, "action_hash": record.action_hash, signature: record.signature }
}

/** Decodes a bounded list of signed actions; malformed items are dropped. */
function decodeSignedList(value: unknown): Array<SignedAction> | null {
  if (!Array.isArray(value) || value.length > MAX_ITEMS) return null
  return value.flatMap((item) => {
    const signed = decodeSigned(item)
    return signed === null ? [] : [signed]
  })
}

/** Decodes an untrusted answer body as msgpack; null when it is not. */
function bodyOf(body: Uint8Array): unknown {
  try {
    return decodeUntrusted(body)
  } catch {
    return undefined
  }
}

function decodeDetails(value: unknown): RemoteDetails | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null
  const f = value as { [key: string]: unknown }
  if (f.type === "record") {
    const record = decodeRecord(f.record)
    const deletes = decodeSignedList(f.deletes)
    const updates = decodeSignedList(f.updates)
    if (typeof record === "string" || deletes === null || updates === null) return null
    return { type: "record", record, deletes, updates }
  }
  if (f.type === "entry") {
    const actions = decodeSignedList(f.actions)
    const deletes = decodeSignedList(f.deletes)
    const updates = decodeSignedList(f.updates)
    const raw = f.entry
    if (actions === null || deletes === null || updates === null) return null
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null
    const e = raw as { [key: string]: unknown }
    const decoded = e.entry_type === "app" && e.entry instanceof Uint8Array &&
        e.entry.length <= MAX_ENTRY_BYTES
      ? { "entry_type": "app" as const, entry: e.entry }
      : e.entry_type === "agent" && isHoloHash(e.entry, "agent")
      ? { "entry_type": "agent" as const, entry: e.entry }
      : null
    if (decoded === null) return null
    return {
      type: "entry",
      entry: decoded,
      actions,
      deletes,
      updates,
      entryDhtStatus: "live",
    }
  }
  return null
}

function shuffled<A>(items: ReadonlyArray<A>): Array<A> {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/**
 * Runs `asks` in parallel and returns the answers that arrived: all of them, or those in by
 * `graceMs` after the first; then interrupts the rest. The errors say why others did not answer.
 */
function gather<A>(
  asks: ReadonlyArray<Effect.Effect<A, NetworkError>>,
  graceMs: number,
): Effect.Effect<{ readonly answers: Array<A>; readonly errors: Array<NetworkError> }> {
  return Effect.gen(function* () {
    const answers: Array<A> = []
    const errors: Array<NetworkError> = []
    const first = yield* Deferred.make<void>()
    const fibers = yield* Effect.forEach(asks, (ask) =>
      Effect.forkChild(
        ask.pipe(
          Effect.tap((answer) =>
            Effect.andThen(Effect.sync(() => answers.push(answer)), Deferred.succeed(first, void 0))
          ),
          Effect.catch((error) => Effect.sync(() => void errors.push(error))),
        ),
      ))
    yield* Effect.raceFirst(
      Fiber.joinAll(fibers),
      Effect.andThen(Deferred.await(first), Effect.sleep(graceMs)),
    )
    yield* Fiber.interruptAll(fibers)
    return { answers, errors }
  })
}

/** The error of a read that got no answer at all. */
function noAnswer(operation: string, errors: ReadonlyArray<NetworkError>): NetworkError {
  const timedOut = errors.some((e) => e.reason === "Timeout")
  return failure(
    timedOut ? "Timeout" : "Unreachable",
    operation,
    `no holder answered (${errors.map((e) => e.detail).join("; ").slice(0, 500)})`,
  )
}

/** Builds the remote methods. */
export function makeRemote(deps: RemoteDeps): RemoteMethods {
  const { inbox, state } = deps
  const timeoutMs = state.config.request_timeout_ms

  /** Who asks (a local agent of the space) and whom (live holders, shuffled). */
  const targets = (dna: DnaHash, operation: string) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      if (deps.connected?.() === false) {
        return yield* failure("Unreachable", operation, "not connected to NATS")
      }
      const joined = state.space(dna)
      const from = joined === undefined ? undefined : firstLocal(joined)
      if (from === undefined) {
        return yield* failure(
          "NoPeers",
          operation,
          `this conductor has not joined ${encodeHashB64(dna)}`,
        )
      }
      const holders = shuffled(state.holders(dna, clockMicros(clock))).slice(0, READ_FANOUT)
      if (holders.length === 0) {
        return yield* failure("NoPeers", operation, `no live holder in ${encodeHashB64(dna)}`)
      }
      return { from, holders: holders.map((h) => h.agent) }
    })

  const askEach = <A>(
    dna: DnaHash,
    operation: string,
    kind: string,
    body: Uint8Array,
    decode: (value: unknown) => A,
  ) =>
    Effect.map(targets(dna, operation), ({ from, holders }) =>
      holders.map((to) =>
        Effect.map(
          inbox.ask(dna, from, to, kind, body, timeoutMs),
          (envelope) => decode(bodyOf(envelope.body)),
        )
      ))

  const get = (dna: DnaHash, hash: Uint8Array) =>
    Effect.gen(function* () {
      const asks = yield* askEach(dna, "Network.get", "get", encode({ hash }), (value) => {
        if (value === null) return null
        const record = decodeRecord(value)
        return typeof record === "string" || !verifiedRecord(hasher, record, hash) ? null : record
      })
      // The first verified record wins; a holder without it (or lying) does not end the race.
      const found = yield* Effect.raceAll(
        asks.map((ask) =>
          Effect.flatMap(ask, (record) =>
            record === null
              ? Effect.fail(failure("Refused", "Network.get", "not held"))
              : Effect.succeed(record as Record | null))
        ),
      ).pipe(Effect.catchCause(() =>
        Effect.succeed(null)
      ))
      return found
    })

  const absenceSensitive = <A>(
    dna: DnaHash,
    operation: string,
    kind: string,
    body: Uint8Array,
    decode: (value: unknown) => A | null,
  ) =>
    Effect.gen(function* () {
      const asks = yield* askEach(dna, operation, kind, body, decode)
      const { answers, errors } = yield* gather(asks, GATHER_GRACE_MS)
      if (answers.length === 0) return yield* noAnswer(operation, errors)
      return answers
    })

  const getDetails = (dna: DnaHash, hash: Uint8Array) =>
    Effect.map(
      absenceSensitive(dna, "Network.getDetails", "details", encode({ hash }), decodeDetails),
      (answers) => {
        // The Cascade merges with what is held here; among peers, the first complete answer
        // plus every other's updates and deletes (each verified by the Cascade).
        const found = answers.filter((a): a is RemoteDetails => a !== null)
        const base = found[0]
        if (base === undefined) return null
        const same = found.filter((d) => d.type === base.type)
        return {
          ...base,
          deletes: same.flatMap((d) => d.deletes),
          updates: same.flatMap((d) => d.updates),
          ...(base.type === "entry"
            ? { actions: same.flatMap((d) => (d.type === "entry" ? d.actions : [])) }
            : {}),
        } as RemoteDetails
      },
    )

  const getLinks = (dna: DnaHash, query: LinkQuery) =>
    Effect.map(
      absenceSensitive(dna, "Network.getLinks", "links", encodeLinkQuery(query), decodeSignedList),
      (answers) => answers.flatMap((list) => list ?? []),
    )

  const agentActivity = (dna: DnaHash, author: AgentPubKey, chainTop: Uint8Array | null) =>
    Effect.map(
      absenceSensitive(
        dna,
        "Network.agentActivity",
        "activity",
        encode({ author, "chain_top": chainTop }),
        (value) => (value === null ? null : decodeSignedList(value)),
      ),
      (answers) => {
        // The longest chain that verifies (a short or forged one loses to an honest one).
        const chains = answers
          .filter((a): a is Array<SignedAction> => a !== null && a.length > 0)
          .sort((a, b) => b.length - a.length)
        return chains[0] ?? null
      },
    )

  const callRemote: NetworkShape["callRemote"] = (dna, call) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      if (!state.isLocal(dna, call.provenance)) {
        return yield* failure(
          "Refused",
          "Network.callRemote",
          `${encodeHashB64(call.provenance)} is not an agent of this conductor in the space`,
        )
      }
      if (deps.connected?.() === false) {
        return yield* failure("Unreachable", "Network.callRemote", "not connected to NATS")
      }
      const now = clockMicros(clock)
      const body = encodeCallRequest({
        zome: call.zome,
        fn: call.fn,
        payload: call.payload,
        capSecret: call.capSecret,
        expiresAt: now + state.config.request_timeout_ms * 1000 * 2,
      })
      const answer = yield* inbox.ask(
        dna,
        call.provenance,
        call.target,
        "call",
        body,
        timeoutMs,
      )
      const outcome = decodeOutcome(answer.body)
      if (typeof outcome === "string") {
        return yield* failure("Refused", "Network.callRemote", `malformed answer: ${outcome}`)
      }
      return outcome
    })

  const sendRemoteSignal: NetworkShape["sendRemoteSignal"] = (dna, signal) =>
    Effect.forEach(
      signal.targets,
      (to) =>
        inbox.tell(
          dna,
          signal.from,
          to,
          "signal",
          encodeSignal({ zome: signal.zome, payload: signal.payload }),
        ),
      { discard: true, concurrency: 16 },
    )

  return { get, getDetails, getLinks, agentActivity, callRemote, sendRemoteSignal }
}

function encodeLinkQuery(query: LinkQuery): Uint8Array {
  return encode({
    base: query.base,
    types: query.types === undefined ? null : query.types.map(([z, t]) => [z, t]),
    "tag_prefix": query.tagPrefix ?? null,
    author: query.author ?? null,
  })
}

function decodeLinkQuery(value: unknown): LinkQuery | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null
  const f = value as { [key: string]: unknown }
  if (!(f.base instanceof Uint8Array) || f.base.length !== 39) return null
  let types: Array<readonly [number, number]> | undefined
  if (f.types !== null && f.types !== undefined) {
    if (!Array.isArray(f.types) || f.types.length > 1024) return null
    types = []
    for (const pair of f.types) {
      if (
        !Array.isArray(pair) || pair.length !== 2 || !Number.isInteger(pair[0]) ||
        !Number.isInteger(pair[1])
      ) return null
      types.push([pair[0] as number, pair[1] as number])
    }
  }
  const tagPrefix = f.tag_prefix
  if (tagPrefix !== null && tagPrefix !== undefined && !(tagPrefix instanceof Uint8Array)) {
    return null
  }
  const author = f.author
  if (author !== null && author !== undefined && !isHoloHash(author, "agent")) return null
  return {
    base: f.base,
    ...(types === undefined ? {} : { types }),
    ...(tagPrefix instanceof Uint8Array ? { tagPrefix } : {}),
    ...(isHoloHash(author, "agent") ? { author: author as AgentPubKey } : {}),
  }
}

const hashOf = (value: unknown): Uint8Array | null => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null
  const hash = (value as { hash?: unknown }).hash
  return isHoloHash(hash, "action") || isHoloHash(hash, "entry") ? hash as Uint8Array : null
}

const refused = (operation: string, detail: string) => failure("Refused", operation, detail)

/**
 * Registers the handlers that answer other conductors' requests: `get`, `details`, `links`,
 * `activity` (from this conductor's spaces), `call` (a zome call with the caller as
 * provenance, after the expiry and replay checks) and `signal` (`recv_remote_signal`).
 */
export const registerRemote = (deps: RemoteDeps) =>
  Effect.gen(function* () {
    const { inbox } = deps
    const spaces = yield* Spaces
    const zomeCalls = yield* ZomeCalls
    const clock = yield* Clock.Clock
    const nonces = new NonceCache()
    const storeFailure = (operation: string) => (error: { readonly message: string }) =>
      refused(operation, error.message)

    inbox.register("get", ({ space, envelope }) =>
      Effect.gen(function* () {
        const hash = hashOf(bodyOf(envelope.body))
        if (hash === null) return yield* refused("get", "the request has no DHT hash")
        const record = yield* Effect.mapError(
          spaces.get(space, hash, envelope.from),
          storeFailure("get"),
        )
        return encode(record === null ? null : recordWire(publicRecord(record)))
      }))

    inbox.register("details", ({ space, envelope }) =>
      Effect.gen(function* () {
        const hash = hashOf(bodyOf(envelope.body))
        if (hash === null) return yield* refused("details", "the request has no DHT hash")
        const details = yield* Effect.mapError(
          spaces.getDetails(space, hash, envelope.from),
          storeFailure("details"),
        )
        if (details === null) return encode(null)
        if (details.type === "record") {
          return encode({
            type: "record",
            record: recordWire(publicRecord(details.record)),
            deletes: details.deletes.slice(0, MAX_ITEMS).map(signedActionWire),
            updates: details.updates.slice(0, MAX_ITEMS).map(signedActionWire),
          })
        }
        return encode({
          type: "entry",
          entry: details.entry,
          actions: details.actions.slice(0, MAX_ITEMS).map(signedActionWire),
          deletes: details.deletes.slice(0, MAX_ITEMS).map(signedActionWire),
          updates: details.updates.slice(0, MAX_ITEMS).map(signedActionWire),
        })
      }))

    inbox.register("links", ({ space, envelope }) =>
      Effect.gen(function* () {
        const query = decodeLinkQuery(bodyOf(envelope.body))
        if (query === null) return yield* refused("links", "malformed link query")
        const activity = yield* Effect.mapError(
          spaces.linkActivity(space, query, MAX_ITEMS / 2),
          storeFailure("links"),
        )
        return encode(
          activity.flatMap((link) => [link.create, ...(link.delete === null ? [] : [link.delete])])
            .map(signedActionWire),
        )
      }))

    inbox.register("activity", ({ space, envelope }) =>
      Effect.gen(function* () {
        const value = bodyOf(envelope.body)
        if (typeof value !== "object" || value === null) {
          return yield* refused("activity", "malformed request")
        }
        const { author, chain_top: chainTop } = value as { author?: unknown; chain_top?: unknown }
        if (!isHoloHash(author, "agent")) return yield* refused("activity", "no author")
        if (chainTop !== null && chainTop !== undefined && !isHoloHash(chainTop, "action")) {
          return yield* refused("activity", "chain_top is not an action hash")
        }
        const top = isHoloHash(chainTop, "action")
          ? chainTop as Uint8Array
          : (yield* Effect.mapError(
            spaces.latestAction(space, author as AgentPubKey),
            storeFailure("activity"),
          ))?.action_hash ?? null
        if (top === null) return encode(null)
        const chain = yield* Effect.mapError(
          spaces.agentActivity(space, author as AgentPubKey, top),
          storeFailure("activity"),
        )
        if (chain !== null && chain.length > MAX_ITEMS) {
          return yield* refused("activity", `the chain is longer than ${MAX_ITEMS} actions`)
        }
        return encode(chain === null ? null : chain.map(signedActionWire))
      }))

    inbox.register("call", ({ space, local, envelope }) =>
      Effect.gen(function* () {
        const request = decodeCallRequest(envelope.body)
        if (typeof request === "string") return yield* refused("call", request)
        const now = clockMicros(clock)
        const problem = callWindowProblem(request, envelope.at, now)
        if (problem !== null) return yield* refused("call", problem)
        const fresh = nonces.remember(envelope.from, envelope.nonce, request.expiresAt, now)
        if (fresh === "replayed") return yield* refused("call", "the request was already run")
        if (fresh === "full") return yield* refused("call", "too many calls in flight; retry")
        const outcome: RemoteCallOutcome = yield* zomeCalls.call({
          cellId: [space, local],
          zome: request.zome,
          fn: request.fn,
          payload: request.payload,
          provenance: envelope.from,
          capSecret: request.capSecret,
        }).pipe(
          Effect.map((value) => ({ type: "ok", value }) as const),
          Effect.catch((error) =>
            Effect.succeed(
              error.reason === "Unauthorized"
                ? { type: "unauthorized", value: error.detail } as const
                : { type: "error", value: `${error.reason}: ${error.detail}` } as const,
            )
          ),
        )
        return encodeOutcome(outcome)
      }))

    inbox.register("signal", ({ space, local, envelope }) =>
      Effect.gen(function* () {
        const signal = decodeSignal(envelope.body)
        if (typeof signal === "string") return yield* refused("signal", signal)
        // Delivered as a zome call from the sender: the target's grants decide, as in Holochain.
        const delivered = yield* Effect.result(zomeCalls.call({
          cellId: [space, local],
          zome: signal.zome,
          fn: "recv_remote_signal",
          payload: signal.payload,
          provenance: envelope.from,
          capSecret: null,
        }))
        if (delivered._tag === "Failure") {
          yield* Effect.logDebug(
            `network: remote signal from ${
              encodeHashB64(envelope.from)
            } not delivered: ${delivered.failure.message}`,
          )
        }
        return null
      }))
  })
