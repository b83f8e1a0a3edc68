/**
 * Agent infos and the `Peers` table. An agent info is kitsune2's signed JSON
 * (`{"agentInfo": "<json>", "signature": "<base64>"}`, network.md §1) with the agent and space
 * in their `u…` HoloHash form: who is in a space, until when, whether it left (tombstone) and
 * which arc it holds. Its signature is checked with the agent's own key; an info that lapsed,
 * is not signed by its agent, or is older than the one held is refused. The table keeps the
 * newest info per (space, agent) and drops lapsed ones on `sweep`, so a peer that stops
 * re-signing (it died) leaves everyone's view within the TTL.
 *
 * It does not send or receive: the space runtime (./space_runtime.ts) does.
 *
 * @module
 */
import { Context, Layer, Schema } from "effect"
import { verifySignature } from "../crypto/mod.ts"
import {
  type AgentPubKey,
  decodeHashB64,
  type DnaHash,
  encodeHashB64,
  fromBase64Url,
  hashCore,
  hashKey,
  toBase64Url,
} from "../hash/mod.ts"
import { MAX_CLOCK_SKEW_MICROS } from "./envelope.ts"

/** Largest encoded agent info, in bytes. */
export const MAX_AGENT_INFO_BYTES = 4096
/** Most peers kept per space; past it new agents are refused until others lapse. */
export const MAX_PEERS_PER_SPACE = 10_000
/** The full storage arc (kitsune2's `DhtArc::FULL`). */
export const FULL_ARC: readonly [number, number] = [0, 4294967295]

/** A verified agent info. */
export interface AgentInfo {
  readonly agent: AgentPubKey
  readonly space: DnaHash
  /** Microseconds since the epoch. */
  readonly createdAt: number
  readonly expiresAt: number
  readonly isTombstone: boolean
  readonly url: string | null
  /** `[start, end]` of the held DHT locations, or null for a zero arc. */
  readonly storageArc: readonly [number, number] | null
  /** The signed JSON as it travels (and as `agent_info` returns it). */
  readonly encoded: string
}

/** An agent info that was refused. */
export class AgentInfoRefused extends Schema.TaggedError<AgentInfoRefused>()("AgentInfoRefused", {
  detail: Schema.String,
}) {
  override get message(): string {
    return `agent info refused: ${this.detail}`
  }
}

/** Signs an agent info; `sign` signs with the agent's key. */
export function signAgentInfo(
  info: Omit<AgentInfo, "encoded">,
  sign: (data: Uint8Array) => Uint8Array,
): AgentInfo {
  const inner = JSON.stringify({
    agent: encodeHashB64(info.agent),
    space: encodeHashB64(info.space),
    createdAt: String(info.createdAt),
    expiresAt: String(info.expiresAt),
    isTombstone: info.isTombstone,
    url: info.url,
    storageArc: info.storageArc,
  })
  const signature = sign(new TextEncoder().encode(inner))
  return {
    ...info,
    encoded: JSON.stringify({ agentInfo: inner, signature: toBase64Url(signature) }),
  }
}

const refuse = (detail: string) => new AgentInfoRefused({ detail })

const micros = (value: unknown): number | undefined => {
  if (typeof value !== "string" || !/^\d{1,17}$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

const isArc = (value: unknown): value is readonly [number, number] =>
  Array.isArray(value) && value.length === 2 &&
  value.every((n) => Number.isInteger(n) && n >= 0 && n <= 4294967295)

/** Parses and verifies an encoded agent info at `now` (microseconds). */
export function verifyAgentInfo(encoded: string, now: number): AgentInfo | AgentInfoRefused {
  if (encoded.length > MAX_AGENT_INFO_BYTES) return refuse(`longer than ${MAX_AGENT_INFO_BYTES}`)
  let outer: unknown
  let inner: unknown
  try {
    outer = JSON.parse(encoded)
    if (typeof outer !== "object" || outer === null) return refuse("not an object")
    const { agentInfo } = outer as { agentInfo?: unknown }
    if (typeof agentInfo !== "string") return refuse("agentInfo is not a string")
    inner = JSON.parse(agentInfo)
  } catch (cause) {
    return refuse(`not JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  const { agentInfo, signature } = outer as { agentInfo: string; signature?: unknown }
  if (typeof inner !== "object" || inner === null) return refuse("agentInfo is not an object")
  const fields = inner as { [key: string]: unknown }
  const agent = typeof fields.agent === "string" ? decodeHashB64(fields.agent, "agent") : undefined
  const space = typeof fields.space === "string" ? decodeHashB64(fields.space, "dna") : undefined
  if (agent === undefined) return refuse("agent is not an agent key")
  if (space === undefined) return refuse("space is not a DNA hash")
  const sig = typeof signature === "string" ? fromBase64Url(signature) : undefined
  if (sig === undefined || sig.length !== 64) return refuse("signature is not 64 bytes")
  if (!verifySignature(hashCore(agent), new TextEncoder().encode(agentInfo), sig)) {
    return refuse(`not signed by ${encodeHashB64(agent)}`)
  }
  const createdAt = micros(fields.createdAt)
  const expiresAt = micros(fields.expiresAt)
  if (createdAt === undefined || expiresAt === undefined) return refuse("bad createdAt/expiresAt")
  if (createdAt > now + MAX_CLOCK_SKEW_MICROS) return refuse("created in the future")
  if (expiresAt <= now) return refuse("expired")
  if (typeof fields.isTombstone !== "boolean") return refuse("isTombstone is not a boolean")
  const url = fields.url ?? null
  if (url !== null && (typeof url !== "string" || url.length > 512)) return refuse("bad url")
  const arc = fields.storageArc ?? null
  if (arc !== null && !isArc(arc)) return refuse("bad storageArc")
  return {
    agent,
    space,
    createdAt,
    expiresAt,
    isTombstone: fields.isTombstone,
    url,
    storageArc: arc,
    encoded,
  }
}

/** What putting an info into the table did. */
export type PutOutcome = "joined" | "refreshed" | "left" | "ignored"

/** What the peer table offers. Synchronous: it is memory only. */
export interface PeersShape {
  /** Keeps `info` if it is newer than the one held; says whether the agent joined or left. */
  readonly put: (info: AgentInfo) => PutOutcome
  /** The live (not tombstoned, not lapsed) infos of a space. */
  readonly live: (space: DnaHash, now: number) => ReadonlyArray<AgentInfo>
  /** Every held info of a space, tombstones included (for `agent_info`). */
  readonly all: (space: DnaHash | null) => ReadonlyArray<AgentInfo>
  /** One agent's info, if live. */
  readonly get: (space: DnaHash, agent: AgentPubKey, now: number) => AgentInfo | undefined
  /** Drops lapsed infos; returns the live agents that lapsed (they left). */
  readonly sweep: (now: number) => ReadonlyArray<AgentInfo>
  /** The spaces with any info. */
  readonly spaces: () => ReadonlyArray<DnaHash>
}

/** Builds an empty table. */
export function makePeers(): PeersShape {
  const bySpace = new Map<string, { space: DnaHash; agents: Map<string, AgentInfo> }>()
  const isLive = (info: AgentInfo, now: number) => !info.isTombstone && info.expiresAt > now
  return {
    put: (info) => {
      const key = hashKey(info.space)
      let space = bySpace.get(key)
      if (space === undefined) {
        space = { space: info.space, agents: new Map() }
        bySpace.set(key, space)
      }
      const agentKey = hashKey(info.agent)
      const held = space.agents.get(agentKey)
      if (held !== undefined && held.createdAt >= info.createdAt) return "ignored"
      if (held === undefined && space.agents.size >= MAX_PEERS_PER_SPACE) return "ignored"
      space.agents.set(agentKey, info)
      const wasLive = held !== undefined && !held.isTombstone
      if (info.isTombstone) return wasLive ? "left" : "ignored"
      return wasLive ? "refreshed" : "joined"
    },
    live: (space, now) =>
      [...(bySpace.get(hashKey(space))?.agents.values() ?? [])].filter((i) => isLive(i, now)),
    all: (space) =>
      space === null
        ? [...bySpace.values()].flatMap((s) => [...s.agents.values()])
        : [...(bySpace.get(hashKey(space))?.agents.values() ?? [])],
    get: (space, agent, now) => {
      const info = bySpace.get(hashKey(space))?.agents.get(hashKey(agent))
      return info !== undefined && isLive(info, now) ? info : undefined
    },
    sweep: (now) => {
      const lapsed: Array<AgentInfo> = []
      for (const space of bySpace.values()) {
        for (const [key, info] of space.agents) {
          if (info.expiresAt > now) continue
          space.agents.delete(key)
          if (!info.isTombstone) lapsed.push(info)
        }
      }
      return lapsed
    },
    spaces: () => [...bySpace.values()].map((s) => s.space),
  }
}

/** The peers this conductor knows of, per space. */
export class Peers extends Context.Service<Peers, PeersShape>()("conductor/network_nats/Peers") {
  static readonly layer = Layer.sync(Peers, makePeers)
}
