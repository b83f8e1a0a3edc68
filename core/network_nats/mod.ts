/**
 * Spaces over NATS (network.md §4): the NATS implementation of the `Network` seam and of
 * `NetworkInfo`, selected by the `network:` section of conductor.yaml.
 *
 * ## How it fits together
 *
 * - `NatsConnection` (connection.ts): one client connection, reconnecting forever; bytes only.
 * - Envelopes (envelope.ts): every message is `sealEnvelope`d by a local agent and
 *   `openEnvelope`d by its receiver (Ed25519 over version, kind, space, from, to, time, nonce,
 *   body; size-bounded). Subjects and reply subjects are routing, never identity.
 * - Subjects (subjects.ts): `k2.<space>.op.<sector>` (published ops), `k2.<space>.ai` (agent
 *   infos), `k2.<space>.ag.<agent>.<kind>` (an agent's inbox), `k2.<space>.get.<sector>`
 *   (authority queries, one queue group per space).
 * - `Peers` (peers.ts): signed kitsune2-style agent infos per (space, agent), with expiry.
 * - `NatsState` (state.ts): joined spaces, local agents, counters; `holders`,
 *   `requiredReceipts`.
 * - `Inbox` (inbox.ts): **where request handlers plug in.** `inbox.register(kind, handler,
 *   scope)` with scope `"inbox"` (messages to `k2.<space>.ag.<agent>.<kind>`; the handler gets
 *   `{space, local, envelope}` with `envelope.from` verified) or `"authority"` (queries on
 *   `k2.<space>.get.<sector>`, answered by one holder of the queue group). The handler returns
 *   the reply body (msgpack bytes) or null; the inbox seals the reply as `<kind>.re` from the
 *   local agent, or `err` on failure. Clients call `inbox.ask(space, from, to, kind, body,
 *   timeoutMs)` (the answer must be signed by `to`), `inbox.askAuthority(space, from, sector,
 *   kind, body, timeoutMs)` or `inbox.tell(...)` (no answer). Kinds in use here: `rcpt`,
 *   `sync`, `fetch`.
 * - remote.ts: **where `get`, `getLinks`, `agentActivity`, `callRemote` and
 *   `sendRemoteSignal` plug in** (`makeRemote(deps)` returns them; `registerRemote(deps)`
 *   registers their handlers at start). They answer as the local-only network until then.
 * - nats_network.ts: the `Network` service (`publish`, `peers`, plus remote.ts's methods).
 * - incoming.ts: verify, system-validate, app-validate and integrate records from others;
 *   refuse (recorded, logged) or wait for dependencies.
 * - repair.ts: anti-entropy rounds (`sync`, `fetch`), parallel with per-request timeouts.
 * - runtime.ts: joins and leaves spaces as cells start and stop, agent-info refresh, receipts,
 *   the publish, repair and retry loops, `NetworkInfo` and the `/metrics` gauges.
 *
 * @module
 */
import { Effect, Layer, Option } from "effect"
import type { ConductorConfigShape, NetworkConfig } from "../config/mod.ts"
import type { Keystore } from "../keystore/mod.ts"
import { Network, NetworkInfo, type NetworkTimeouts, withTimeouts } from "../network/mod.ts"
import type { Outbox, Spaces } from "../space/mod.ts"
import { NatsConnection } from "./connection.ts"
import { Inbox } from "./inbox.ts"
import { Incoming } from "./incoming.ts"
import { makeNatsNetwork } from "./nats_network.ts"
import { Peers } from "./peers.ts"
import { NatsRuntimeLayer } from "./runtime.ts"
import { NatsState } from "./state.ts"

export { clientOptions, NatsConnectError, NatsConnection } from "./connection.ts"
export type { ConnectionEvent, NatsConnectionShape, NatsMessage } from "./connection.ts"
export {
  type Envelope,
  EnvelopeRefused,
  MAX_CLOCK_SKEW_MICROS,
  openEnvelope,
  sealEnvelope,
} from "./envelope.ts"
export {
  ERROR_KIND,
  type HandlerScope,
  Inbox,
  type InboxHandler,
  type InboxRequest,
  type InboxShape,
} from "./inbox.ts"
export { Incoming, type IncomingShape, type IngestOutcome } from "./incoming.ts"
export {
  type AgentInfo,
  AgentInfoRefused,
  FULL_ARC,
  makePeers,
  Peers,
  type PeersShape,
  signAgentInfo,
  verifyAgentInfo,
} from "./peers.ts"
export { decodeRecord, isPrivateEntryType, publicRecord } from "./records.ts"
export { type RemoteDeps, type RemoteMethods } from "./remote.ts"
export { type JoinedSpace, NatsState, type NatsStateShape } from "./state.ts"
export { lastToken, sectorOf, SECTORS, spaceSubjects } from "./subjects.ts"

/**
 * The low half of the NATS network: the connection, the peer table, the inbox, the shared
 * state and the `Network` service. It needs the keystore, the outbox and the spaces only, so
 * it sits where `Network.layerLocal` sits in the conductor's graph.
 */
export const natsNetworkLayer = (config: NetworkConfig, timeouts?: NetworkTimeouts) =>
  Layer.effect(
    Network,
    Effect.map(makeNatsNetwork, (network) => Network.of(withTimeouts(network, timeouts))),
  ).pipe(
    Layer.provideMerge(
      Layer.mergeAll(Inbox.layer(config.max_message_bytes), NatsState.layer(config)),
    ),
    Layer.provideMerge(Layer.merge(NatsConnection.layer(config.nats), Peers.layer)),
  )

/**
 * The high half: the records pipeline (`Incoming`) and the runtime, which provides
 * `NetworkInfo`. It needs the ribosome, chains and cells too, so it sits on top of the
 * conductor's services.
 */
export const natsRuntimeLayer = NatsRuntimeLayer.pipe(Layer.provideMerge(Incoming.layer))

/**
 * `NetworkInfo` for the conductor: the NATS runtime when the low half is in the graph (a
 * `network:` section), else the local-only answers.
 */
export const networkInfoLayer = Layer.unwrap(Effect.gen(function* () {
  const state = yield* Effect.serviceOption(NatsState)
  const connection = yield* Effect.serviceOption(NatsConnection)
  const inbox = yield* Effect.serviceOption(Inbox)
  const peers = yield* Effect.serviceOption(Peers)
  if (
    Option.isNone(state) || Option.isNone(connection) || Option.isNone(inbox) ||
    Option.isNone(peers)
  ) {
    return NetworkInfo.layerLocal
  }
  return natsRuntimeLayer.pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeed(NatsState, state.value),
      Layer.succeed(NatsConnection, connection.value),
      Layer.succeed(Inbox, inbox.value),
      Layer.succeed(Peers, peers.value),
    )),
  )
}))

/**
 * The `Network` of a conductor: over NATS when `config.network` is set, else local-only; the
 * start log says which.
 */
export const configuredNetworkLayer = (config: ConductorConfigShape) => {
  const network = config.network ?? null
  const chosen: Layer.Layer<Network, never, Keystore | Outbox | Spaces> = network === null
    ? Network.layerLocal
    : natsNetworkLayer(network)
  const said = Layer.effectDiscard(
    Effect.logInfo(
      network === null
        ? "network: none configured (no network: section), this conductor is local-only"
        : `network: NATS ${network.nats.servers.join(", ")}, arc ${network.arc}`,
    ),
  )
  return Layer.merge(chosen, said)
}
