/**
 * The `NetworkInfo` service: what operators and the Conductor API read about the network
 * (`agent_info`, `add_agent_info`, `dump_network_stats`, `dump_network_metrics`,
 * `peer_meta_info`, `/metrics`). `NetworkInfo.layerLocal` answers for a conductor without a
 * network: no peers, no infos, and `add_agent_info` refused. The NATS network
 * (core/network_nats/) provides the real one.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import type { AgentPubKey, DnaHash } from "../hash/mod.ts"
import { NetworkError } from "./network.ts"

/** One space's network state, as operators see it. */
export interface SpaceNetworkStats {
  readonly dna: DnaHash
  /** This conductor's agents in the space. */
  readonly localAgents: ReadonlyArray<AgentPubKey>
  /** Live remote agents. */
  readonly peers: number
  /** DHT ops held (integrated) here. */
  readonly opsHeld: number
  /** Authored ops still waiting for publishing or receipts. */
  readonly opsPending: number
  /** Authored ops with all the receipts they need. */
  readonly opsDone: number
  /** Validation receipts received for authored ops. */
  readonly receiptsReceived: number
  /** Validation receipts sent for others' ops. */
  readonly receiptsSent: number
  /** Records received from others and integrated. */
  readonly integrated: number
  /** Records refused (invalid, forged, forks). */
  readonly refused: number
  /** Records waiting for dependencies. */
  readonly waiting: number
  /** Repair fetches in flight. */
  readonly fetchesInFlight: number
  /** Repair rounds run. */
  readonly repairRounds: number
  /** When a repair round last completed with every reachable peer (µs), or null. */
  readonly lastSync: number | null
}

/** The transport as `dump_network_stats` reports it. */
export interface TransportStats {
  readonly backend: string
  readonly connected: boolean
  readonly server: string | null
  readonly peerUrls: ReadonlyArray<string>
}

/** What network information offers. */
export interface NetworkInfoShape {
  /** True when a network is configured. */
  readonly enabled: boolean
  /** Signed agent infos (JSON strings, kitsune2 format) of these DNAs, or of all. */
  readonly agentInfos: (
    dnas: ReadonlyArray<DnaHash> | null,
  ) => Effect.Effect<ReadonlyArray<string>>
  /** Adds agent infos from elsewhere; each is verified, and the first bad one is refused. */
  readonly addAgentInfos: (infos: ReadonlyArray<string>) => Effect.Effect<void, NetworkError>
  /** The transport. */
  readonly transport: () => Effect.Effect<TransportStats>
  /** Per space state, of these DNAs or of all joined spaces. */
  readonly spaces: (
    dnas: ReadonlyArray<DnaHash> | null,
  ) => Effect.Effect<ReadonlyArray<SpaceNetworkStats>>
}

/** The information of a conductor without a network. */
export const localOnlyNetworkInfo: NetworkInfoShape = {
  enabled: false,
  agentInfos: () => Effect.succeed([]),
  addAgentInfos: () =>
    Effect.fail(
      new NetworkError({
        reason: "NoPeers",
        operation: "NetworkInfo.addAgentInfos",
        detail: "no network is configured (conductor.yaml has no network: section)",
      }),
    ),
  transport: () =>
    Effect.succeed({ backend: "none", connected: false, server: null, peerUrls: [] }),
  spaces: () => Effect.succeed([]),
}

/** Network state for operators. */
export class NetworkInfo extends Context.Service<NetworkInfo, NetworkInfoShape>()(
  "conductor/network/NetworkInfo",
) {
  /** No network. */
  static readonly layerLocal = Layer.succeed(NetworkInfo, NetworkInfo.of(localOnlyNetworkInfo))
}
