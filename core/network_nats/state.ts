/**
 * The `NatsState` service: which spaces this conductor has joined, with which local agents, and
 * each space's counters for operators. The runtime (./runtime.ts) writes it as cells start and
 * stop; the `Network` methods and `NetworkInfo` read it. Memory only.
 *
 * @module
 */
import { Context, Layer } from "effect"
import type { NetworkConfig } from "../config/mod.ts"
import { type AgentPubKey, type DnaHash, hashKey } from "../hash/mod.ts"
import { type AgentInfo, Peers, type PeersShape } from "./peers.ts"

/** Counters of one space. */
export interface SpaceCounters {
  receiptsReceived: number
  receiptsSent: number
  published: number
  fetchesInFlight: number
  repairRounds: number
  lastSync: number | null
}

/** A joined space. */
export interface JoinedSpace {
  readonly dna: DnaHash
  /** Local agents in the space, by `hashKey`. */
  readonly locals: Map<string, AgentPubKey>
  readonly counters: SpaceCounters
}

/** What the state offers. */
export interface NatsStateShape {
  readonly config: NetworkConfig
  readonly joined: Map<string, JoinedSpace>
  /** The joined space of a DNA. */
  readonly space: (dna: DnaHash) => JoinedSpace | undefined
  /** True when `agent` is one of this conductor's agents in `dna`. */
  readonly isLocal: (dna: DnaHash, agent: AgentPubKey) => boolean
  /** Live remote agents of a space that hold data (non-empty arc). */
  readonly holders: (dna: DnaHash, now: number) => ReadonlyArray<AgentInfo>
  /** Live remote agents of a space. */
  readonly remotePeers: (dna: DnaHash, now: number) => ReadonlyArray<AgentInfo>
  /** Receipts an op of `dna` needs now: the configured number, or every holder when fewer. */
  readonly requiredReceipts: (dna: DnaHash, now: number) => number
}

/** Builds the state over the peer table. */
export function makeNatsState(config: NetworkConfig, peers: PeersShape): NatsStateShape {
  const joined = new Map<string, JoinedSpace>()
  const space = (dna: DnaHash) => joined.get(hashKey(dna))
  const isLocal = (dna: DnaHash, agent: AgentPubKey) =>
    space(dna)?.locals.has(hashKey(agent)) ?? false
  const remotePeers = (dna: DnaHash, now: number) =>
    peers.live(dna, now).filter((info) => !isLocal(dna, info.agent))
  const holders = (dna: DnaHash, now: number) =>
    remotePeers(dna, now).filter((info) => info.storageArc !== null)
  return {
    config,
    joined,
    space,
    isLocal,
    holders,
    remotePeers,
    requiredReceipts: (dna, now) =>
      Math.max(1, Math.min(config.required_receipts, holders(dna, now).length)),
  }
}

/** The local agent that signs for a space (repair, receipts, authority answers). */
export function firstLocal(space: JoinedSpace): AgentPubKey | undefined {
  return space.locals.values().next().value
}

/** The NATS network's shared state. */
export class NatsState extends Context.Service<NatsState, NatsStateShape>()(
  "conductor/network_nats/NatsState",
) {
  static readonly layer = (config: NetworkConfig) =>
    Layer.effect(NatsState, Peers.useSync((peers) => makeNatsState(config, peers)))
}
