/**
 * The NATS space runtime: what makes spaces real. A layer with no service of its own (it also
 * provides `NetworkInfo`); while it lives it:
 *
 * - follows the running cells (`Cells`, checked every second): the first cell of a DNA joins
 *   its space (subscribes to its agent infos, its ops when the arc is full, and its authority
 *   queries), each local agent subscribes to its inbox and announces a signed agent info; an
 *   agent whose cell stopped (disabled, uninstalled) announces a tombstone and leaves;
 * - re-signs and announces agent infos every `agent_info_refresh_ms` (they lapse after
 *   `agent_info_ttl_ms`) and drops lapsed peers, so a dead peer leaves within the TTL;
 * - integrates published ops through `Incoming` and sends the author a signed receipt for each
 *   valid one; counts receipts for its own ops and settles them when complete;
 * - runs the publish loop right after each commit and every `publish_interval_ms` (the due ops
 *   of spaces that have a holder);
 * - repairs (./repair.ts) with every live peer in parallel: when a space is joined, when a new
 *   peer appears, after a reconnect, and every `repair_interval_ms` (with jitter);
 *   a zero-arc node does not repair (it holds only what its agents authored, reads on demand);
 * - updates the per-space gauges of `/metrics`.
 *
 * Joins, leaves and refused data are logged at info.
 *
 * @module
 */
import { Clock, Effect, Exit, Layer, Metric, PubSub, Queue, Scope } from "effect"
import { Cells } from "../cell/mod.ts"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import {
  type AgentPubKey,
  bytesEqual,
  type DnaHash,
  encodeHashB64,
  hashKey,
  isHoloHash,
} from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import {
  Network,
  NetworkError,
  NetworkInfo,
  type NetworkInfoShape,
  type SpaceNetworkStats,
} from "../network/mod.ts"
import { Outbox, Spaces } from "../space/mod.ts"
import { clockMicros } from "../time/mod.ts"
import { DHT_OP_TYPES, type DhtOpType, opsForAction, type Record } from "../types/mod.ts"
import { NatsConnection, type NatsMessage } from "./connection.ts"
import { openEnvelope } from "./envelope.ts"
import { Inbox } from "./inbox.ts"
import { Incoming, type IngestOutcome } from "./incoming.ts"
import { networkGauges } from "./metrics.ts"
import { FULL_ARC, Peers, signAgentInfo, verifyAgentInfo } from "./peers.ts"
import { isPrivateEntryType } from "./records.ts"
import { registerRemote } from "./remote.ts"
import { makeRepair } from "./repair.ts"
import { firstLocal, type JoinedSpace, NatsState } from "./state.ts"
import { spaceSubjects } from "./subjects.ts"

/** Workers per subscription: messages of one subject are handled at most this many at once. */
const WORKERS = 4
/** How often the running cells are compared with the joined spaces, in ms. */
const RECONCILE_MS = 1000
/** Most ops one publish round hands to the network. */
const PUBLISH_BATCH = 200
/** How often waiting records are retried, in ms. */
const RETRY_WAITING_MS = 2000
/** Least time between two announcements of a space's agents prompted by newcomers, in µs. */
const ANNOUNCE_DEBOUNCE_MICROS = 1_000_000

interface SpaceRuntime {
  readonly joined: JoinedSpace
  readonly scope: Scope.Closeable
  readonly agentScopes: Map<string, Scope.Closeable>
  /** Peers (by hashKey) a repair round runs with now. */
  readonly repairing: Set<string>
  lastAnnounce: number
}

/** The runtime and the `NetworkInfo` it serves. */
export const NatsRuntimeLayer = Layer.effect(
  NetworkInfo,
  Effect.gen(function* () {
    const nats = yield* NatsConnection
    const inbox = yield* Inbox
    const peers = yield* Peers
    const state = yield* NatsState
    const incoming = yield* Incoming
    const cells = yield* Cells
    const keystore = yield* Keystore
    const spaces = yield* Spaces
    const outbox = yield* Outbox
    const network = yield* Network
    const clock = yield* Clock.Clock
    const config = state.config
    const now = () => clockMicros(clock)
    const runtimes = new Map<string, SpaceRuntime>()
    const layerScope = yield* Effect.scope
    const arc = config.arc === "full" ? FULL_ARC : null

    const log = (text: string) => Effect.logInfo(`network: ${text}`)
    const b64 = encodeHashB64

    // --- agent infos ------------------------------------------------------------------------

    const announce = (rt: SpaceRuntime, agent: AgentPubKey, tombstone: boolean) =>
      Effect.gen(function* () {
        const dna = rt.joined.dna
        const signer = yield* Effect.result(keystore.signer(agent))
        if (signer._tag === "Failure") {
          yield* log(`cannot sign the agent info of ${b64(agent)}: ${signer.failure.message}`)
          return
        }
        const createdAt = now()
        const info = signAgentInfo({
          agent,
          space: dna,
          createdAt,
          expiresAt: createdAt + config.agent_info_ttl_ms * 1000,
          isTombstone: tombstone,
          url: null,
          storageArc: arc,
        }, signer.success.sign)
        peers.put(info)
        const sealed = yield* Effect.result(
          inbox.seal(dna, agent, null, "ai", new TextEncoder().encode(info.encoded)),
        )
        if (sealed._tag === "Success") {
          yield* nats.publish(spaceSubjects(dna).agentInfo, sealed.success)
        }
      })

    const announceAll = (rt: SpaceRuntime) =>
      Effect.gen(function* () {
        rt.lastAnnounce = now()
        for (const agent of rt.joined.locals.values()) yield* announce(rt, agent, false)
      })

    /** Takes a verified agent info from elsewhere; starts repair with a new peer. */
    const acceptInfo = (
      encoded: string,
      from: AgentPubKey | null,
      space: DnaHash | null,
    ): Effect.Effect<void, string> =>
      Effect.gen(function* () {
        const info = verifyAgentInfo(encoded, now())
        if (!("encoded" in info)) return yield* Effect.fail(info.detail)
        if (space !== null && !bytesEqual(space, info.space)) {
          return yield* Effect.fail("the agent info is for another space")
        }
        if (from !== null && !bytesEqual(from, info.agent)) {
          return yield* Effect.fail("the agent info is not the sender's own")
        }
        const rt = runtimes.get(hashKey(info.space))
        if (rt !== undefined && state.isLocal(info.space, info.agent)) return
        const outcome = peers.put(info)
        if (outcome === "joined") {
          yield* log(`peer ${b64(info.agent)} joined ${b64(info.space)}`)
          if (rt !== undefined) {
            if (now() - rt.lastAnnounce > ANNOUNCE_DEBOUNCE_MICROS) yield* announceAll(rt)
            yield* startRound(rt, info.agent)
          }
        } else if (outcome === "left") {
          yield* log(`peer ${b64(info.agent)} left ${b64(info.space)}`)
        }
      })

    const onAgentInfo = (rt: SpaceRuntime) => (message: NatsMessage) =>
      Effect.gen(function* () {
        const opened = openEnvelope(message.data, {
          kinds: new Set(["ai"]),
          space: rt.joined.dna,
          now: now(),
          maxBytes: config.max_message_bytes,
        })
        if (!("body" in opened)) return
        const text = new TextDecoder("utf-8", { fatal: false }).decode(opened.body)
        yield* Effect.catch(
          acceptInfo(text, opened.from, rt.joined.dna),
          (detail) => Effect.logDebug(`network: agent info refused: ${detail}`),
        )
      })

    // --- ops and receipts -------------------------------------------------------------------

    const opTypesOf = (record: Record): ReadonlyArray<DhtOpType> =>
      opsForAction(record.action, record.action_hash, !isPrivateEntryType(record.action))
        .map((op) => op.type)

    const sendReceipt = (rt: SpaceRuntime, record: Record) =>
      Effect.gen(function* () {
        const author = record.action.author
        if (state.isLocal(rt.joined.dna, author)) return
        const validator = firstLocal(rt.joined)
        if (validator === undefined) return
        const body = encode({ h: record.action_hash, t: opTypesOf(record) })
        yield* inbox.tell(rt.joined.dna, validator, author, "rcpt", body)
        rt.joined.counters.receiptsSent++
      })

    const afterIngest = (space: DnaHash, outcome: IngestOutcome) =>
      Effect.gen(function* () {
        const rt = runtimes.get(hashKey(space))
        if (rt === undefined) return
        if (outcome.type === "integrated" || outcome.type === "held") {
          yield* sendReceipt(rt, outcome.record)
        }
        if (outcome.type === "integrated") yield* retryWaiting
      })

    const retryWaiting = Effect.gen(function* () {
      const integrated = yield* Effect.orElseSucceed(incoming.retryWaiting(), () => [])
      for (const { space, record } of integrated) {
        const rt = runtimes.get(hashKey(space))
        if (rt !== undefined) yield* sendReceipt(rt, record)
      }
    })

    const onOp = (rt: SpaceRuntime) => (message: NatsMessage) =>
      Effect.gen(function* () {
        const opened = openEnvelope(message.data, {
          kinds: new Set(["op"]),
          space: rt.joined.dna,
          now: now(),
          maxBytes: config.max_message_bytes,
        })
        if (!("body" in opened)) {
          yield* log(`refused a message on ${message.subject}: ${opened.message}`)
          return
        }
        let body: unknown
        try {
          body = decodeUntrusted(opened.body)
        } catch {
          body = null
        }
        const outcome = yield* Effect.orDie(incoming.ingest(rt.joined.dna, body, opened.from))
        yield* afterIngest(rt.joined.dna, outcome)
      })

    inbox.register("rcpt", ({ space, envelope }) =>
      Effect.gen(function* () {
        const rt = runtimes.get(hashKey(space))
        if (rt === undefined || state.isLocal(space, envelope.from)) return null
        // Only agents with a live agent info in the space count as validators.
        if (peers.get(space, envelope.from, now()) === undefined) return null
        let raw: unknown
        try {
          raw = decodeUntrusted(envelope.body)
        } catch {
          return null
        }
        if (typeof raw !== "object" || raw === null) return null
        const { h, t } = raw as { h?: unknown; t?: unknown }
        if (!isHoloHash(h, "action") || !Array.isArray(t) || t.length > DHT_OP_TYPES.length) {
          return null
        }
        const required = state.requiredReceipts(space, now())
        for (const type of t) {
          if (!DHT_OP_TYPES.includes(type)) continue
          const counted = yield* Effect.orElseSucceed(
            outbox.receipt({ actionHash: h, opType: type }, envelope.from, now()),
            () => null,
          )
          if (counted === null) continue
          rt.joined.counters.receiptsReceived++
          if (!counted.done && counted.receipts >= required) {
            const ops = yield* Effect.orElseSucceed(outbox.ofAction(h), () => [])
            const ids = ops.filter((op) => op.opType === type).map((op) => op.id)
            yield* Effect.orElseSucceed(outbox.settle(ids, now()), () => {})
          }
        }
        return null
      }))

    // --- repair -----------------------------------------------------------------------------

    const repair = yield* makeRepair({
      inbox,
      incoming,
      maxBytes: config.max_message_bytes,
      timeoutMs: config.request_timeout_ms,
      onDifference: (space, peer) => {
        const rt = runtimes.get(hashKey(space))
        return rt === undefined ? Effect.void : startRound(rt, peer)
      },
      onIngested: afterIngest,
      inFlight: (space, delta) => {
        const rt = runtimes.get(hashKey(space))
        if (rt !== undefined) rt.joined.counters.fetchesInFlight += delta
      },
    })

    inbox.register(
      "sync",
      ({ space, envelope }) => repair.answerSync(space, envelope.from, envelope.body),
    )
    inbox.register(
      "fetch",
      ({ space, local, envelope }) => repair.answerFetch(space, local, envelope.body),
    )

    /** One round with one peer, unless one runs already; the result is logged, never raised. */
    const roundWith = (rt: SpaceRuntime, peer: AgentPubKey): Effect.Effect<boolean> =>
      Effect.gen(function* () {
        // A zero arc holds only what its agents authored (and reads the rest on demand): it
        // fetches nothing by repair.
        if (arc === null) return false
        const key = hashKey(peer)
        const local = firstLocal(rt.joined)
        if (local === undefined || rt.repairing.has(key)) return false
        rt.repairing.add(key)
        const result = yield* Effect.result(repair.round(rt.joined.dna, local, peer)).pipe(
          Effect.ensuring(Effect.sync(() => rt.repairing.delete(key))),
        )
        if (result._tag === "Failure") {
          yield* Effect.logDebug(`network: repair with ${b64(peer)}: ${result.failure.message}`)
          return false
        }
        if (result.success > 0) {
          yield* log(`repair: ${result.success} records from ${b64(peer)} in ${b64(rt.joined.dna)}`)
        }
        return true
      })

    /** Starts a round with one peer in the background (within the space's scope). */
    const startRound = (rt: SpaceRuntime, peer: AgentPubKey): Effect.Effect<void> =>
      Effect.asVoid(Effect.forkIn(roundWith(rt, peer), rt.scope))

    /** A round with every live peer, in parallel; one dead peer costs only its timeout. */
    const repairSpace = (rt: SpaceRuntime) =>
      Effect.gen(function* () {
        if (arc === null) {
          // Nothing to fetch: a zero-arc node is in sync once its round has looked.
          rt.joined.counters.repairRounds++
          rt.joined.counters.lastSync = now()
          return
        }
        const targets = state.holders(rt.joined.dna, now())
        const results = yield* Effect.forEach(targets, (info) => roundWith(rt, info.agent), {
          concurrency: config.repair_parallelism,
        })
        rt.joined.counters.repairRounds++
        if (results.length === 0 || results.some((ok) => ok)) rt.joined.counters.lastSync = now()
      })

    // --- joining and leaving ----------------------------------------------------------------

    /** Runs `handle` on each message of `subject` for the life of `scope`. */
    const serve = (
      scope: Scope.Scope,
      subject: string,
      handle: (message: NatsMessage) => Effect.Effect<void>,
      queue?: string,
    ) =>
      Effect.gen(function* () {
        const messages = yield* Scope.provide(
          nats.subscribe(subject, queue === undefined ? {} : { queue }),
          scope,
        )
        const worker = Effect.forever(
          Queue.take(messages).pipe(
            Effect.flatMap(handle),
            Effect.catchCause((cause) => Effect.logWarning(`network: ${subject}: ${cause}`)),
          ),
        )
        for (let i = 0; i < WORKERS; i++) yield* Effect.forkIn(worker, scope)
      })

    const join = (dna: DnaHash) =>
      Effect.gen(function* () {
        const scope = yield* Scope.fork(layerScope)
        const rt: SpaceRuntime = {
          joined: {
            dna,
            locals: new Map(),
            counters: {
              receiptsReceived: 0,
              receiptsSent: 0,
              published: 0,
              fetchesInFlight: 0,
              repairRounds: 0,
              lastSync: null,
            },
          },
          scope,
          agentScopes: new Map(),
          repairing: new Set(),
          lastAnnounce: 0,
        }
        const subjects = spaceSubjects(dna)
        yield* serve(scope, subjects.agentInfo, onAgentInfo(rt))
        if (arc !== null) {
          yield* serve(scope, subjects.allOps, onOp(rt))
          yield* serve(
            scope,
            subjects.allGets,
            (message) => {
              const local = firstLocal(rt.joined)
              return local === undefined
                ? Effect.void
                : inbox.dispatch(dna, local, message, "authority")
            },
            subjects.allGets,
          )
        }
        runtimes.set(hashKey(dna), rt)
        state.joined.set(hashKey(dna), rt.joined)
        yield* log(`joined space ${b64(dna)}`)
        return rt
      })

    const addAgent = (rt: SpaceRuntime, agent: AgentPubKey) =>
      Effect.gen(function* () {
        const scope = yield* Scope.fork(rt.scope)
        rt.agentScopes.set(hashKey(agent), scope)
        rt.joined.locals.set(hashKey(agent), agent)
        yield* serve(
          scope,
          spaceSubjects(rt.joined.dna).inboxAll(agent),
          (message) => inbox.dispatch(rt.joined.dna, agent, message, "inbox"),
        )
        yield* announce(rt, agent, false)
        yield* log(`agent ${b64(agent)} joined ${b64(rt.joined.dna)}`)
      })

    const removeAgent = (rt: SpaceRuntime, key: string, agent: AgentPubKey) =>
      Effect.gen(function* () {
        yield* announce(rt, agent, true)
        rt.joined.locals.delete(key)
        const scope = rt.agentScopes.get(key)
        rt.agentScopes.delete(key)
        if (scope !== undefined) yield* Scope.close(scope, Exit.void)
        yield* log(`agent ${b64(agent)} left ${b64(rt.joined.dna)}`)
      })

    const leave = (key: string, rt: SpaceRuntime) =>
      Effect.gen(function* () {
        runtimes.delete(key)
        state.joined.delete(key)
        yield* Scope.close(rt.scope, Exit.void)
        yield* log(`left space ${b64(rt.joined.dna)}`)
      })

    /** Makes the joined spaces and agents those of the running cells. */
    const reconcile = Effect.gen(function* () {
      const wanted = new Map<string, { dna: DnaHash; agents: Map<string, AgentPubKey> }>()
      for (const cell of cells.all()) {
        const [dna, agent] = cell.cellId
        const key = hashKey(dna)
        let space = wanted.get(key)
        if (space === undefined) {
          space = { dna, agents: new Map() }
          wanted.set(key, space)
        }
        space.agents.set(hashKey(agent), agent)
      }
      for (const [key, space] of wanted) {
        let rt = runtimes.get(key)
        const isNew = rt === undefined
        rt ??= yield* join(space.dna)
        let added = false
        for (const [agentKey, agent] of space.agents) {
          if (!rt.joined.locals.has(agentKey)) {
            yield* addAgent(rt, agent)
            added = true
          }
        }
        for (const [agentKey, agent] of [...rt.joined.locals]) {
          if (!space.agents.has(agentKey)) yield* removeAgent(rt, agentKey, agent)
        }
        if (isNew || added) yield* Effect.forkIn(repairSpace(rt), rt.scope)
      }
      for (const [key, rt] of [...runtimes]) {
        if (wanted.has(key)) continue
        for (const [agentKey, agent] of [...rt.joined.locals]) {
          yield* removeAgent(rt, agentKey, agent)
        }
        yield* leave(key, rt)
      }
    })

    // --- loops ------------------------------------------------------------------------------

    const every = <E>(ms: number, name: string, effect: Effect.Effect<void, E>) =>
      Effect.forkScoped(
        Effect.forever(
          effect.pipe(
            Effect.catchCause((cause) => Effect.logWarning(`network: ${name}: ${cause}`)),
            Effect.andThen(Effect.sleep(ms)),
          ),
        ),
      )

    const remoteDeps = { inbox, state, connected: nats.connected }
    yield* registerRemote(remoteDeps)

    yield* every(RECONCILE_MS, "reconcile", reconcile)
    yield* every(
      config.agent_info_refresh_ms,
      "agent infos",
      Effect.gen(function* () {
        for (const rt of runtimes.values()) yield* announceAll(rt)
        for (const info of peers.sweep(now())) {
          if (!state.isLocal(info.space, info.agent)) {
            yield* log(`peer ${b64(info.agent)} left ${b64(info.space)} (its agent info lapsed)`)
          }
        }
      }),
    )
    // `publishDue`, restricted to the spaces that have a holder now: ops of a space without
    // peers stay due without crowding the others out of the batch. A round runs right after a
    // commit enqueues ops (so sync lag has no polling floor) and every `publish_interval_ms`
    // (retries after back-off, spaces whose holders just appeared).
    const publishRound = Effect.gen(function* () {
      const at = now()
      const open = [...runtimes.values()]
        .filter((rt) => state.holders(rt.joined.dna, at).length > 0)
        .map((rt) => rt.joined.dna)
      const due = yield* outbox.dueIn(open, at, PUBLISH_BATCH)
      if (due.length === 0) return
      const sent = yield* network.publish(due)
      const asked = new Set(due.map((op) => op.id))
      yield* outbox.published(sent.filter((id) => asked.has(id)), at)
    })
    yield* Effect.forkScoped(
      Effect.forever(
        publishRound.pipe(
          Effect.catchCause((cause) => Effect.logWarning(`network: publish: ${cause}`)),
          Effect.andThen(
            Effect.raceFirst(Effect.sleep(config.publish_interval_ms), outbox.enqueued),
          ),
        ),
      ),
    )
    yield* every(RETRY_WAITING_MS, "retry waiting", retryWaiting)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          // Jitter (up to a tenth) keeps conductors started together from repairing in step.
          const jitter = Math.floor(Math.random() * config.repair_interval_ms / 10)
          yield* Effect.sleep(config.repair_interval_ms + jitter)
          yield* Effect.forEach([...runtimes.values()], repairSpace, { concurrency: "unbounded" })
        }).pipe(Effect.catchCause((cause) => Effect.logWarning(`network: repair: ${cause}`))),
      ),
    )
    const events = yield* nats.events
    yield* Effect.forkScoped(
      Effect.forever(
        PubSub.take(events).pipe(
          Effect.flatMap((event) =>
            Effect.gen(function* () {
              yield* log(`NATS connection ${event} (${nats.server()})`)
              if (event !== "reconnected") return
              for (const rt of runtimes.values()) {
                yield* announceAll(rt)
                yield* Effect.forkIn(repairSpace(rt), rt.scope)
              }
            })
          ),
        ),
      ),
    )
    yield* every(5000, "metrics", Effect.suspend(() => updateGauges))

    // Leaving on shutdown: tombstones first, so peers drop us at once rather than on expiry.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        [...runtimes.values()],
        (rt) =>
          Effect.forEach([...rt.joined.locals.values()], (agent) => announce(rt, agent, true)),
        {
          discard: true,
        },
      ).pipe(Effect.ignore)
    )

    // --- operators --------------------------------------------------------------------------

    const statsOf = (rt: SpaceRuntime) =>
      Effect.gen(function* () {
        const dna = rt.joined.dna
        const held = yield* Effect.orElseSucceed(spaces.stats(dna), () => ({ ops: 0, bytes: 0 }))
        const queued = yield* Effect.orElseSucceed(
          outbox.stats(dna),
          () => ({ pending: 0, done: 0 }),
        )
        const counts = incoming.counts(dna)
        const c = rt.joined.counters
        const stats: SpaceNetworkStats = {
          dna,
          localAgents: [...rt.joined.locals.values()],
          peers: state.remotePeers(dna, now()).length,
          opsHeld: held.ops,
          opsPending: queued.pending,
          opsDone: queued.done,
          receiptsReceived: c.receiptsReceived,
          receiptsSent: c.receiptsSent,
          integrated: counts.integrated,
          refused: counts.refused,
          waiting: counts.waiting,
          fetchesInFlight: c.fetchesInFlight,
          repairRounds: c.repairRounds,
          lastSync: c.lastSync,
        }
        return stats
      })

    const updateGauges = Effect.gen(function* () {
      for (const rt of runtimes.values()) {
        const s = yield* statsOf(rt)
        const space = b64(s.dna)
        const set = (name: keyof typeof networkGauges, value: number) =>
          Metric.update(networkGauges[name]({ space }), value)
        yield* set("peers", s.peers)
        yield* set("opsHeld", s.opsHeld)
        yield* set("opsPending", s.opsPending)
        yield* set("receipts", s.receiptsReceived)
        yield* set("fetchesInFlight", s.fetchesInFlight)
        yield* set("repairRounds", s.repairRounds)
        yield* set("refused", s.refused)
        yield* set("lastSync", s.lastSync === null ? 0 : s.lastSync / 1e6)
      }
    })

    const selected = (dnas: ReadonlyArray<DnaHash> | null) =>
      [...runtimes.values()].filter((rt) =>
        dnas === null || dnas.some((dna) => bytesEqual(dna, rt.joined.dna))
      )

    const info: NetworkInfoShape = {
      enabled: true,
      agentInfos: (dnas) =>
        Effect.sync(() =>
          (dnas === null ? peers.all(null) : dnas.flatMap((dna) => peers.all(dna)))
            .filter((i) => i.expiresAt > now())
            .map((i) => i.encoded)
        ),
      addAgentInfos: (infos) =>
        Effect.forEach(infos, (encoded, index) =>
          acceptInfo(encoded, null, null).pipe(
            Effect.mapError((detail) =>
              new NetworkError({
                reason: "Refused",
                operation: "NetworkInfo.addAgentInfos",
                detail: `agent_infos[${index}]: ${detail}`,
              })
            ),
          ), { discard: true }),
      transport: () =>
        Effect.sync(() => ({
          backend: "nats",
          connected: nats.connected(),
          server: nats.server(),
          peerUrls: [...config.nats.servers],
        })),
      spaces: (dnas) => Effect.forEach(selected(dnas), statsOf),
    }
    return NetworkInfo.of(info)
  }),
)
