/**
 * The `network:` section of `conductor.yaml`: how this conductor reaches the NATS servers that
 * route its spaces' messages (network.md §4), and the timings of peers, publishing and repair.
 * Without the section the conductor runs local-only. It owns the shape only; the network lives
 * in `core/network_nats/`.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import * as path from "node:path"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const between = (minimum: number, maximum: number) =>
  Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/** A NATS server URL: `nats://host:port`, `tls://host:port` or `host:port`. */
export const NatsServerUrl = Schema.String.check(
  Schema.isPattern(/^((nats|tls):\/\/)?[^\s/:]+(:\d{1,5})?$/, {
    message: "a NATS server is nats://host:port, tls://host:port or host:port",
  }),
)

/** TLS towards the NATS servers (files relative to the config file). */
export const NatsTlsConfig = Schema.Struct({
  /** CA certificates that sign the servers' certificates (PEM). */
  ca_file: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Client certificate for mutual TLS (PEM). */
  cert_file: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Client key for mutual TLS (PEM). */
  key_file: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Start TLS before the NATS INFO (the server must set `handshake_first`). @default false */
  handshake_first: withDefault(Schema.Boolean, false),
})
export type NatsTlsConfig = typeof NatsTlsConfig.Type

/** The NATS connection. NATS only routes: every message is signed and checked by its receiver. */
export const NatsConfig = Schema.Struct({
  /** One or more servers of one NATS network; the client fails over between them. */
  servers: Schema.Array(NatsServerUrl).check(Schema.isMinLength(1)),
  /** A `.creds` file (user JWT and nkey seed) from `nsc`. */
  credentials: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** A server token. */
  token: Schema.optionalKey(Schema.NullOr(Schema.String)),
  user: Schema.optionalKey(Schema.NullOr(Schema.String)),
  pass: Schema.optionalKey(Schema.NullOr(Schema.String)),
  tls: Schema.optionalKey(Schema.NullOr(NatsTlsConfig)),
  /** The connection name servers show in their monitoring. @default "conductor" */
  name: withDefault(Schema.String, "conductor"),
  /** Delay between reconnect attempts, in ms (attempts never stop). @default 1000 */
  reconnect_wait_ms: withDefault(between(10, 60_000), 1000),
  /** Interval of the client's pings; two missed pings drop the connection. @default 10000 */
  ping_interval_ms: withDefault(between(100, 600_000), 10_000),
})
export type NatsConfig = typeof NatsConfig.Type

/** The whole `network:` section. */
export const NetworkConfig = Schema.Struct({
  nats: NatsConfig,
  /**
   * How long a signed agent info is valid, in ms. A peer that stops re-signing (it died) drops
   * out of everyone's view when its info lapses. @default 60000
   */
  agent_info_ttl_ms: withDefault(between(1000, 3_600_000), 60_000),
  /** How often agent infos are re-signed and announced, in ms (below the TTL). @default 20000 */
  agent_info_refresh_ms: withDefault(between(100, 3_600_000), 20_000),
  /** How often the outbox is checked for due ops, in ms. @default 200 */
  publish_interval_ms: withDefault(between(10, 60_000), 200),
  /** Anti-entropy rounds with every peer, in ms (plus on reconnect and new peers). @default 30000 */
  repair_interval_ms: withDefault(between(100, 3_600_000), 30_000),
  /** Per-request timeout of repair and receipts, in ms. @default 5000 */
  request_timeout_ms: withDefault(between(10, 600_000), 5000),
  /** Most peers one repair round talks to at once. @default 8 */
  repair_parallelism: withDefault(between(1, 64), 8),
  /**
   * The storage arc: `full` holds every op of a space (Holochain's only arc today); `zero`
   * holds none (a leacher that still publishes and reads).
   */
  arc: withDefault(Schema.Literals(["full", "zero"]), "full"),
  /** Receipts an op needs before its author stops republishing it (fewer with fewer peers). */
  required_receipts: withDefault(between(1, 64), 5),
  /** Largest message this conductor sends or accepts, in bytes. @default 1048576 */
  max_message_bytes: withDefault(between(4096, 64 * 1024 * 1024), 1024 * 1024),
})
export type NetworkConfig = typeof NetworkConfig.Type

/** The network config with its files resolved against the config file's folder. */
export function resolveNetworkPaths(
  network: NetworkConfig | null | undefined,
  baseDir: string,
): NetworkConfig | null {
  if (network === null || network === undefined) return null
  const resolved = (file: string | null): string | null =>
    file === null ? null : path.resolve(baseDir, file)
  const nats = network.nats
  return {
    ...network,
    nats: {
      ...nats,
      ...(nats.credentials !== undefined ? { credentials: resolved(nats.credentials) } : {}),
      ...(nats.tls !== undefined && nats.tls !== null
        ? {
          tls: {
            ...nats.tls,
            ...(nats.tls.ca_file !== undefined ? { ca_file: resolved(nats.tls.ca_file) } : {}),
            ...(nats.tls.cert_file !== undefined
              ? { cert_file: resolved(nats.tls.cert_file) }
              : {}),
            ...(nats.tls.key_file !== undefined ? { key_file: resolved(nats.tls.key_file) } : {}),
          },
        }
        : {}),
    },
  }
}
