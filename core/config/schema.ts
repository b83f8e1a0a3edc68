/**
 * The `conductor.yaml` schema. Field names follow Holochain's conductor config where one exists
 * (`data_dir`, `admin_interfaces[].driver`); everything else is ours and documented in
 * `docs/config.md`. Unknown keys are rejected so that a typo is an error, not a silent default.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { PluginsConfig } from "./plugins_schema.ts"
import { NetworkConfig } from "./network_schema.ts"
import { ReceptorsConfig } from "./receptors_schema.ts"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A TCP port; 0 asks the OS for a free one. */
export const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * `allowed_origins`: `"*"` or a comma-separated list of Origin values, `scheme://host:*` patterns
 * and `local` (loopback pages and non-browser tools; core/wire/origins.ts, conductor-api.md §1.1).
 */
export const AllowedOrigins = Schema.String.check(Schema.isMinLength(1))

/** The default `allowed_origins` of admin interfaces and of the HTTP admin API. */
export const DEFAULT_ALLOWED_ORIGINS = "local"

export const AdminInterfaceConfig = Schema.Struct({
  driver: Schema.Struct({
    type: Schema.Literal("websocket"),
    port: Port,
    allowed_origins: withDefault(AllowedOrigins, DEFAULT_ALLOWED_ORIGINS),
    danger_bind_addr: Schema.optionalKey(Schema.NullOr(Schema.String)),
  }),
})
export type AdminInterfaceConfig = typeof AdminInterfaceConfig.Type

export const KeystoreConfig = Schema.Struct({
  /** Name of the environment variable that holds the passphrase. */
  passphrase_env: withDefault(Schema.String, "CONDUCTOR_PASSPHRASE"),
  /** A file whose first line is the passphrase (relative to the config file). */
  passphrase_file: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** The passphrase itself; for tests and throw-away setups only. */
  passphrase: Schema.optionalKey(Schema.NullOr(Schema.String)),
})

export const GatewayConfig = Schema.Struct({
  enabled: withDefault(Schema.Boolean, true),
  /** Installed app ids the gateway exposes; an empty list exposes nothing. */
  allowed_app_ids: withDefault(Schema.Array(Schema.String), []),
  /** Per app id: `"*"` or a list of `"zome/fn"`. Every allowed app needs an entry. */
  allowed_fns: withDefault(
    Schema.Record(Schema.String, Schema.Union([Schema.Literal("*"), Schema.Array(Schema.String)])),
    {},
  ),
  /** Limit on the base64url `payload` query parameter, in bytes. */
  payload_limit_bytes: withDefault(PositiveInt, 10240),
})

export const HttpConfig = Schema.Struct({
  port: withDefault(Port, 4445),
  bind: withDefault(Schema.String, "127.0.0.1"),
  /** Bearer token required by the JSON admin API (`/api/*`); none means loopback trust only. */
  admin_token: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Origins whose pages may use `/api` (same syntax as `allowed_origins` of admin interfaces). */
  allowed_origins: withDefault(AllowedOrigins, DEFAULT_ALLOWED_ORIGINS),
  /** Largest body of `POST /api/apps` (a .happ, or JSON with one in base64), in bytes. */
  max_install_body_bytes: withDefault(PositiveInt, 64 * 1024 * 1024),
  /** Largest body of every other `/api` request (zome calls), in bytes. */
  max_body_bytes: withDefault(PositiveInt, 1024 * 1024),
  /** Deepest nesting of arrays and objects in a JSON body. */
  max_json_depth: withDefault(PositiveInt.check(Schema.isLessThanOrEqualTo(1000)), 64),
  gateway: withDefault(GatewayConfig, {}),
})

export const RibosomeConfig = Schema.Struct({
  /** Metering budget of one guest call (see docs/decisions.md, "Stopping runaway guests"). */
  fuel_per_call: withDefault(PositiveInt, 10_000_000_000),
  /** Largest linear memory one zome instance may grow to, in MiB. */
  max_memory_mb: withDefault(PositiveInt.check(Schema.isLessThanOrEqualTo(4096)), 256),
  /** Largest total of Extism kernel blocks (input, output, host fn data) one call may allocate, in MiB. */
  max_kernel_mb: withDefault(PositiveInt, 64),
  /** How many idle zome instances are kept warm. */
  instance_cache_size: withDefault(PositiveInt, 256),
  /**
   * Wall-clock deadline of one zome call or callback, in ms, including the time it waits for
   * host functions; nested `call_1`s share their caller's deadline.
   */
  call_timeout_ms: withDefault(PositiveInt, 30_000),
  /**
   * Fuel a guest runs between two looks at the clock and the event loop: at the end of each
   * slice the conductor checks the call's budget and deadline and lets other work run. About
   * 1 ms of guest work (see docs/decisions.md, "Waiting and preemption").
   */
  fuel_per_slice: withDefault(PositiveInt, 5_000_000),
  /** Largest output of one guest call, in bytes; a larger one is refused, not copied. */
  max_output_bytes: withDefault(PositiveInt, 16 * 1024 * 1024),
  /** A warm zome instance unused for this long is dropped (rebuilt on the next call), in ms. */
  instance_idle_ms: withDefault(PositiveInt, 10_000),
  /**
   * Cap on the linear memory of all zome instances together, in MiB; past it the least recently
   * used idle instances are dropped.
   */
  instance_memory_mb: withDefault(PositiveInt, 512),
  /**
   * Worker threads that run guest code, so that calls of different cells use several cores: a
   * cell's calls go to one worker (cell affinity); host functions run on the main thread. `0`
   * runs every guest on the main thread (the single-threaded engine). See docs/decisions.md,
   * "Zome calls on several cores".
   */
  workers: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 64 })), 2),
  /**
   * A zome function (per cell) moves to a worker once its calls use this much fuel on average
   * (about 1 ms of guest work at the default): lighter calls stay on the main thread, where they
   * cost no thread hop. `0` sends every call that may wait to a worker.
   */
  worker_min_fuel: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 10_000_000),
})

export const TasksConfig = Schema.Struct({
  post_commit_timeout_ms: withDefault(PositiveInt, 30_000),
  post_commit_retries: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 })),
    3,
  ),
})

export const StorageConfig = Schema.Struct({
  /**
   * `normal` (SQLite WAL, Holochain's default) survives a crash of the process; a power loss may
   * lose the last commits. `full` fsyncs every commit.
   */
  synchronous: withDefault(Schema.Literals(["full", "normal"]), "normal"),
})

export const InstallConfig = Schema.Struct({
  /**
   * Largest `.happ` that install_app accepts, sent as bytes or read from a path, in bytes.
   * @default 67108864 (64 MiB, the websocket message limit)
   */
  max_bundle_bytes: withDefault(PositiveInt, 64 * 1024 * 1024),
})

export const LogConfig = Schema.Struct({
  level: withDefault(Schema.Literals(["trace", "debug", "info", "warn", "error"]), "info"),
  format: withDefault(Schema.Literals(["pretty", "json"]), "pretty"),
})

/** The whole `conductor.yaml`. Every key is optional; an empty file is the embedded default. */
export const ConductorConfigSchema = Schema.Struct({
  data_dir: withDefault(Schema.String.check(Schema.isMinLength(1)), "conductor-data"),
  keystore: withDefault(KeystoreConfig, {}),
  admin_interfaces: withDefault(Schema.Array(AdminInterfaceConfig), [
    { driver: { type: "websocket", port: 4444, allowed_origins: DEFAULT_ALLOWED_ORIGINS } },
  ]),
  http: withDefault(HttpConfig, {}),
  ribosome: withDefault(RibosomeConfig, {}),
  tasks: withDefault(TasksConfig, {}),
  storage: withDefault(StorageConfig, {}),
  install: withDefault(InstallConfig, {}),
  log: withDefault(LogConfig, {}),
  receptors: withDefault(ReceptorsConfig, []),
  /** Host-function plugins (Extism), each granted to apps or DNAs. */
  plugins: withDefault(PluginsConfig, []),
  /** Other conductors over NATS (core/network/nats); absent: local-only. */
  network: Schema.optionalKey(Schema.NullOr(NetworkConfig)),
})
export type ConductorConfigData = typeof ConductorConfigSchema.Type
