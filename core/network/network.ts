/**
 * The `Network` seam: everything the conductor asks of other peers, as asynchronous Effects
 * with timeouts (network.md §1, §4). Publish hands the outbox's due ops to the network; `get`,
 * `getLinks` and `agentActivity` ask authorities for data that is not local; `callRemote` and
 * `sendRemoteSignal` reach other agents. Answers are untrusted: callers verify what they use
 * (`Cascade` does for records). `Network.layerLocal` is the implementation without a network:
 * it has no peers, publishes nothing (ops wait in the outbox), finds nothing remote and refuses
 * remote calls with `NoPeers`; it is what runs when no network is configured.
 *
 * @module
 */
import { Context, Duration, Effect, Layer, Schema } from "effect"
import type { AgentPubKey, DnaHash } from "../hash/mod.ts"
import type { EntryDetails, LinkQuery, OutboxOp, RecordDetails } from "../space/mod.ts"
import type { Record, SignedAction } from "../types/mod.ts"

/** A network request that did not get an answer. */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  reason: Schema.Literals(["NoPeers", "Timeout", "Unreachable", "Refused"]),
  operation: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect()),
}) {
  override get message(): string {
    return `${this.operation}: ${this.detail}`
  }
}

/** How long each kind of request may take (Holochain's defaults, network.md §1). */
export interface NetworkTimeouts {
  /** `get`, `get_links`, agent activity. @default 60 s (`request_timeout`) */
  readonly request: Duration.Duration
  /** `call_remote`. @default 60 s */
  readonly callRemote: Duration.Duration
  /** Publishing one batch of ops. @default 15 s */
  readonly publish: Duration.Duration
  /** `send_remote_signal` (fire and forget). @default 5 s (`PING_TIMEOUT`) */
  readonly signal: Duration.Duration
}

/** The default timeouts. */
export const DEFAULT_NETWORK_TIMEOUTS: NetworkTimeouts = {
  request: Duration.seconds(60),
  callRemote: Duration.seconds(60),
  publish: Duration.seconds(15),
  signal: Duration.seconds(5),
}

/** A zome call to another agent's cell, as `call_remote` sends it (signed by the caller). */
export interface RemoteCall {
  readonly target: AgentPubKey
  readonly zome: string
  readonly fn: string
  readonly payload: Uint8Array
  readonly capSecret: Uint8Array | null
  readonly provenance: AgentPubKey
}

/**
 * A signal to other agents' cells, as `send_remote_signal` sends it (signed by `from`). Each
 * target's conductor calls `recv_remote_signal` of the zome named `zome` with `payload`.
 */
export interface RemoteSignal {
  readonly from: AgentPubKey
  readonly zome: string
  readonly targets: ReadonlyArray<AgentPubKey>
  readonly payload: Uint8Array
}

/**
 * What the callee answered to a remote call: its output, a refusal by its capability grants, or
 * its failure (a guest error, a missing function…). Network failures are `NetworkError`s.
 */
export type RemoteCallOutcome =
  | { readonly type: "ok"; readonly value: Uint8Array }
  | { readonly type: "unauthorized"; readonly value: string }
  | { readonly type: "error"; readonly value: string }

/** A record's or an entry's details from authorities, unverified (the Cascade checks them). */
export type RemoteDetails = RecordDetails | EntryDetails

/** What the network offers. Every method may be asynchronous and is bounded by a timeout. */
export interface NetworkShape {
  /** Agents of a DNA this node can currently reach. */
  readonly peers: (dna: DnaHash) => Effect.Effect<number, NetworkError>
  /**
   * Publishes ops to their bases' authorities; returns the ids of the ops handed over (the
   * outbox schedules their next attempt). Ops not returned stay due.
   */
  readonly publish: (
    ops: ReadonlyArray<OutboxOp>,
  ) => Effect.Effect<ReadonlyArray<number>, NetworkError>
  /** A record by action or entry hash from an authority, unverified; null when none has it. */
  readonly get: (dna: DnaHash, hash: Uint8Array) => Effect.Effect<Record | null, NetworkError>
  /** A record's (action hash) or an entry's details from authorities, unverified. */
  readonly getDetails: (
    dna: DnaHash,
    hash: Uint8Array,
  ) => Effect.Effect<RemoteDetails | null, NetworkError>
  /**
   * The link activity on a base from its authorities, unverified: the signed `create_link`
   * actions the query selects and the `delete_link` actions of those links (the Cascade verifies
   * each one and computes the live links).
   */
  readonly getLinks: (
    dna: DnaHash,
    query: LinkQuery,
  ) => Effect.Effect<ReadonlyArray<SignedAction>, NetworkError>
  /**
   * An agent's actions from `chainTop` (or from its latest known action when null) back to the
   * first, newest first, unverified; null when unknown.
   */
  readonly agentActivity: (
    dna: DnaHash,
    author: AgentPubKey,
    chainTop: Uint8Array | null,
  ) => Effect.Effect<ReadonlyArray<SignedAction> | null, NetworkError>
  /** Calls a zome function of another agent's cell (signed by `call.provenance`). */
  readonly callRemote: (
    dna: DnaHash,
    call: RemoteCall,
  ) => Effect.Effect<RemoteCallOutcome, NetworkError>
  /** Sends a signal to agents; unreachable targets are skipped. */
  readonly sendRemoteSignal: (
    dna: DnaHash,
    signal: RemoteSignal,
  ) => Effect.Effect<void, NetworkError>
}

/**
 * Bounds every method of an implementation by `timeouts`; a request that runs out fails with
 * `NetworkError` `Timeout` (and is interrupted).
 */
export function withTimeouts(
  network: NetworkShape,
  timeouts: NetworkTimeouts = DEFAULT_NETWORK_TIMEOUTS,
): NetworkShape {
  const bound = <A>(
    operation: string,
    limit: Duration.Duration,
    effect: Effect.Effect<A, NetworkError>,
  ): Effect.Effect<A, NetworkError> =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: limit,
        orElse: () =>
          Effect.fail(
            new NetworkError({
              reason: "Timeout",
              operation,
              detail: `no answer within ${Duration.format(limit)}`,
            }),
          ),
      }),
    )
  return {
    peers: (dna) => bound("Network.peers", timeouts.request, network.peers(dna)),
    publish: (ops) => bound("Network.publish", timeouts.publish, network.publish(ops)),
    get: (dna, hash) => bound("Network.get", timeouts.request, network.get(dna, hash)),
    getDetails: (dna, hash) =>
      bound("Network.getDetails", timeouts.request, network.getDetails(dna, hash)),
    getLinks: (dna, query) =>
      bound("Network.getLinks", timeouts.request, network.getLinks(dna, query)),
    agentActivity: (dna, author, top) =>
      bound("Network.agentActivity", timeouts.request, network.agentActivity(dna, author, top)),
    callRemote: (dna, call) =>
      bound("Network.callRemote", timeouts.callRemote, network.callRemote(dna, call)),
    sendRemoteSignal: (dna, signal) =>
      bound("Network.sendRemoteSignal", timeouts.signal, network.sendRemoteSignal(dna, signal)),
  }
}

/** The network of a conductor without one: no peers, nothing remote. */
export const localOnlyNetwork: NetworkShape = {
  peers: () => Effect.succeed(0),
  // Nobody to publish to: the ops stay due in the outbox until a network is configured.
  publish: () => Effect.succeed([]),
  get: () => Effect.succeed(null),
  getDetails: () => Effect.succeed(null),
  getLinks: () => Effect.succeed([]),
  agentActivity: () => Effect.succeed(null),
  callRemote: (_dna, call) =>
    Effect.fail(
      new NetworkError({
        reason: "NoPeers",
        operation: "Network.callRemote",
        detail:
          `${call.zome}/${call.fn}: no network is configured, so no remote agent is reachable`,
      }),
    ),
  // As Holochain does for targets it has no URL for: skipped.
  sendRemoteSignal: () => Effect.void,
}

/** Other peers. */
export class Network extends Context.Service<Network, NetworkShape>()("conductor/network/Network") {
  /** No network: what runs without `network:` configuration. */
  static readonly layerLocal = Layer.succeed(Network, Network.of(withTimeouts(localOnlyNetwork)))
  /** A given implementation (tests, the next issue's NATS network), bounded by `timeouts`. */
  static readonly layerFrom = (network: NetworkShape, timeouts?: NetworkTimeouts) =>
    Layer.succeed(Network, Network.of(withTimeouts(network, timeouts)))
}
