/**
 * The Conductor API's network requests (conductor-api.md §2, §3): `agent_info`,
 * `add_agent_info` (admin only), `dump_network_stats`, `dump_network_metrics` and
 * `peer_meta_info`, answered from `NetworkInfo` for the admin interface (every DNA) or for one
 * app (its DNAs only). Both dispatchers hand a request here when their own decoder does not
 * know its type, so the hot path of zome calls never looks at it.
 *
 * `dump_network_metrics` keeps Holochain's outer shape (a map from DNA hash to
 * `{fetch_state_summary, gossip_state_summary, local_agents}`), keyed by the `u…` string of the
 * DNA hash (msgpack maps with binary keys do not decode in `@holochain/client`), and fills it
 * with this network's numbers (plus `publish_state_summary`); `dump_network_stats` reports the NATS transport. Peer URLs do not exist here (NATS
 * routes by subject), so `peer_meta_info` answers an empty map per DNA.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { type DnaHash, encodeHashB64 } from "../hash/mod.ts"
import { NetworkInfo, type SpaceNetworkStats } from "../network/mod.ts"
import { DnaHashSchema } from "../types/mod.ts"

/** Request types answered here. */
export const NETWORK_REQUEST_TYPES: ReadonlySet<string> = new Set([
  "agent_info",
  "add_agent_info",
  "dump_network_stats",
  "dump_network_metrics",
  "peer_meta_info",
])

/** Most agent infos one `add_agent_info` may carry. */
const MAX_ADD_AGENT_INFOS = 1000

const DnaHashes = Schema.optionalKey(Schema.NullOr(Schema.Array(DnaHashSchema)))
const NetworkRequest = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("agent_info"),
    value: Schema.optionalKey(Schema.NullOr(Schema.Struct({ dna_hashes: DnaHashes }))),
  }),
  Schema.Struct({
    type: Schema.Literal("add_agent_info"),
    value: Schema.Struct({
      agent_infos: Schema.Array(Schema.String).check(
        Schema.isMaxLength(MAX_ADD_AGENT_INFOS),
      ),
    }),
  }),
  Schema.Struct({
    type: Schema.Literal("dump_network_stats"),
    value: Schema.optionalKey(Schema.Unknown),
  }),
  Schema.Struct({
    type: Schema.Literal("dump_network_metrics"),
    value: Schema.optionalKey(Schema.NullOr(Schema.Struct({
      dna_hash: Schema.optionalKey(Schema.NullOr(DnaHashSchema)),
      include_dht_summary: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    }))),
  }),
  Schema.Struct({
    type: Schema.Literal("peer_meta_info"),
    value: Schema.Struct({ url: Schema.String, dna_hashes: DnaHashes }),
  }),
])
const decodeNetworkRequest = Schema.decodeUnknownExit(NetworkRequest)

type Reply = { readonly type: string; readonly value?: unknown }

/** Why a network request got no answer; the dispatcher turns it into its error payload. */
export type NetworkRequestFailure =
  | { readonly type: "deserialization" }
  | { readonly type: "internal"; readonly detail: string }

const internalError = (detail: string) =>
  Effect.fail<NetworkRequestFailure>({ type: "internal", detail })

/** Who asks: the admin interface (every DNA, may add infos) or one app (its DNAs). */
export type NetworkRequestScope =
  | { readonly type: "admin" }
  | { readonly type: "app"; readonly dnas: ReadonlyArray<DnaHash> }

const within = (
  scope: NetworkRequestScope,
  asked: ReadonlyArray<DnaHash> | null | undefined,
): ReadonlyArray<DnaHash> | null => {
  if (scope.type === "admin") return asked ?? null
  if (asked === null || asked === undefined) return scope.dnas
  const key = (d: Uint8Array) => d.join(",")
  const allowed = new Set(scope.dnas.map(key))
  return asked.filter((d) => allowed.has(key(d)))
}

function metricsOf(stats: SpaceNetworkStats) {
  return {
    "fetch_state_summary": {
      "pending_requests": stats.fetchesInFlight,
      "waiting_for_dependencies": stats.waiting,
    },
    "gossip_state_summary": {
      peers: stats.peers,
      "repair_rounds": stats.repairRounds,
      "last_sync": stats.lastSync,
    },
    "publish_state_summary": {
      "ops_held": stats.opsHeld,
      "ops_pending": stats.opsPending,
      "ops_done": stats.opsDone,
      "receipts_received": stats.receiptsReceived,
      "receipts_sent": stats.receiptsSent,
      integrated: stats.integrated,
      refused: stats.refused,
    },
    "local_agents": stats.localAgents.map((agent) => ({ agent })),
  }
}

/**
 * The reply to a network request (`raw`: the decoded request document), or undefined when it
 * is not one (the caller answers with its own error then).
 */
export function networkRequest(
  raw: unknown,
  scope: NetworkRequestScope,
): Effect.Effect<Reply, NetworkRequestFailure, NetworkInfo> | undefined {
  const type = (raw as { type?: unknown } | null)?.type
  if (typeof type !== "string" || !NETWORK_REQUEST_TYPES.has(type)) return undefined
  const decoded = decodeNetworkRequest(raw)
  if (decoded._tag === "Failure") return Effect.fail({ type: "deserialization" })
  const request = decoded.value
  return Effect.gen(function* () {
    const info = yield* NetworkInfo
    switch (request.type) {
      case "agent_info": {
        const dnas = within(scope, request.value?.dna_hashes)
        return { type: "agent_info", value: yield* info.agentInfos(dnas) }
      }
      case "add_agent_info": {
        if (scope.type !== "admin") {
          return yield* internalError("add_agent_info is an admin request")
        }
        const added = yield* Effect.result(info.addAgentInfos(request.value.agent_infos))
        if (added._tag === "Failure") return yield* internalError(added.failure.message)
        return { type: "agent_info_added" }
      }
      case "dump_network_stats": {
        const transport = yield* info.transport()
        const spaces = yield* info.spaces(within(scope, null))
        return {
          type: "network_stats_dumped",
          value: {
            "transport_stats": {
              backend: transport.backend,
              "peer_urls": transport.peerUrls,
              connections: transport.connected && transport.server !== null
                ? [{ "pub_key": null, "send_message_count": 0, url: transport.server }]
                : [],
            },
            "blocked_message_counts": {},
            spaces: spaces.map((s) => ({ "dna_hash": s.dna, ...metricsOf(s) })),
          },
        }
      }
      case "dump_network_metrics": {
        const one = request.value?.dna_hash ?? null
        const spaces = yield* info.spaces(within(scope, one === null ? null : [one]))
        return {
          type: "network_metrics_dumped",
          value: Object.fromEntries(spaces.map((s) => [encodeHashB64(s.dna), metricsOf(s)])),
        }
      }
      case "peer_meta_info": {
        const spaces = yield* info.spaces(within(scope, request.value.dna_hashes))
        return {
          type: "peer_meta_info",
          value: Object.fromEntries(spaces.map((s) => [encodeHashB64(s.dna), {}])),
        }
      }
    }
  })
}
