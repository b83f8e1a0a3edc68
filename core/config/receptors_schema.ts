/**
 * The `receptors:` list of `conductor.yaml`: one entry per configured receptor, a union tagged by
 * `type` whose members carry that type's properties. The list-level checks (unique ids, at most
 * one `default: true` per type) name both places: the failing entry by its key path (which the
 * config loader turns into a line), the earlier one as `` `receptors.N` `` in the message (which
 * the loader annotates with its line too). It owns the shape only; the receptors themselves live
 * in `receptors/<type>/` and the registry in `core/receptors/`.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { PluginLimits } from "./plugins_schema.ts"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const bounded = (maximum: number) => PositiveInt.check(Schema.isLessThanOrEqualTo(maximum))

/**
 * A receptor id: the name operators, zomes and scripts use. It is also the receptor's file name
 * (`<data_dir>/receptors/<id>.sqlite3`), hence the restricted alphabet.
 */
export const ReceptorId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
    message: "a receptor id is 1-64 letters, digits, '_' or '-', starting with a letter or digit",
  }),
)

/**
 * Who may call a receptor from zomes (`receptor_call_1`): the apps (by installed app id) and the
 * DNAs (by DNA hash, `uhC0k…`) the operator names. A zome may call it when its app or its DNA is
 * listed; nothing is granted unless listed. Operators, scripts and the admin API are not affected.
 */
export const ReceptorGrants = Schema.Struct({
  /** Installed app ids. @default [] */
  apps: withDefault(Schema.Array(Schema.NonEmptyString).check(Schema.isMaxLength(1024)), []),
  /** DNA hashes. @default [] */
  dnas: withDefault(
    Schema.Array(
      Schema.String.check(
        Schema.isPattern(/^uhC0k[A-Za-z0-9_-]{48}$/, {
          message: "a DNA hash is 53 characters starting with uhC0k",
        }),
      ),
    ).check(Schema.isMaxLength(1024)),
    [],
  ),
})
export type ReceptorGrants = typeof ReceptorGrants.Type

const common = {
  /** The receptor's stable id. */
  id: ReceptorId,
  /** A disabled receptor is listed but not started. @default true */
  enabled: withDefault(Schema.Boolean, true),
  /** The default receptor of its type; else the first of that type in config order. @default false */
  default: withDefault(Schema.Boolean, false),
  /** Apps and DNAs whose zomes may call it. @default {apps: [], dnas: []} (no zome may) */
  grants: withDefault(ReceptorGrants, { apps: [], dnas: [] }),
}

/** `type: local_store`: a durable key-value/document store in its own SQLite file. */
export const LocalStoreReceptorConfig = Schema.Struct({
  ...common,
  type: Schema.Literal("local_store"),
  /** Largest key, in UTF-8 bytes. @default 1024 */
  max_key_bytes: withDefault(bounded(65_536), 1024),
  /** Largest value, as JSON text in UTF-8 bytes. @default 1048576 (1 MiB) */
  max_value_bytes: withDefault(bounded(256 * 2 ** 20), 2 ** 20),
  /** Most operations (and checks) in one batch. @default 1000 */
  max_batch_ops: withDefault(bounded(100_000), 1000),
  /** Most entries one `list` returns. @default 1000 */
  max_list: withDefault(bounded(100_000), 1000),
})
export type LocalStoreReceptorConfig = typeof LocalStoreReceptorConfig.Type

/** `type: recovery`: crash-safe editing sessions with undo and redo. */
export const RecoveryReceptorConfig = Schema.Struct({
  ...common,
  type: Schema.Literal("recovery"),
  /** Largest key of a session entry, in UTF-8 bytes. @default 1024 */
  max_key_bytes: withDefault(bounded(65_536), 1024),
  /** Largest entry value, as JSON text in UTF-8 bytes. @default 16777216 (16 MiB) */
  max_value_bytes: withDefault(bounded(256 * 2 ** 20), 16 * 2 ** 20),
  /** Most entries one checkpoint may set or delete. @default 10000 */
  max_changes: withDefault(bounded(1_000_000), 10_000),
  /** Largest session (sum of its entries' keys and values), in bytes. @default 268435456 (256 MiB) */
  max_session_bytes: withDefault(bounded(2 ** 40), 256 * 2 ** 20),
  /** Checkpoints kept for undo per session; older ones fold into the baseline. @default 1000 */
  max_undo: withDefault(bounded(1_000_000), 1000),
  /** Most open sessions at once. @default 1000 */
  max_sessions: withDefault(bounded(1_000_000), 1000),
})
export type RecoveryReceptorConfig = typeof RecoveryReceptorConfig.Type

/** A directory a `type: wasm` receptor may read (and, with `write: true`, write) files in. */
export const AllowedPath = Schema.Struct({
  /** Relative to the config file's folder. */
  path: Schema.String.check(Schema.isMinLength(1)),
  /** @default false */
  write: withDefault(Schema.Boolean, false),
})

/**
 * `type: wasm`: an Extism plugin implementing the receptor ABI (docs/abi.md, "Receptor plugins").
 * It gets only the capabilities granted here; importing a host function of a capability it was
 * not granted fails the start.
 */
export const WasmReceptorConfig = Schema.Struct({
  ...common,
  type: Schema.Literal("wasm"),
  /** The plugin's `.wasm`, relative to the config file's folder. */
  path: Schema.String.check(Schema.isMinLength(1)),
  /** Grants `kv_*_1`: a key-value namespace in the receptor's own SQLite file. @default false */
  kv: withDefault(Schema.Boolean, false),
  /** Largest kv value, in bytes. @default 1048576 */
  max_kv_value_bytes: withDefault(bounded(256 * 2 ** 20), 2 ** 20),
  /** Grants `http_request_1` to these hosts (`example.com`, `127.0.0.1:8080`). @default [] */
  allowed_hosts: withDefault(Schema.Array(Schema.String.check(Schema.isMinLength(1))), []),
  /** Largest HTTP response body, in bytes. @default 4194304 */
  max_http_response_bytes: withDefault(bounded(256 * 2 ** 20), 4 * 2 ** 20),
  /** Grants `file_read_1` (and `file_write_1` where `write: true`) under these folders. @default [] */
  allowed_paths: withDefault(Schema.Array(AllowedPath), []),
  /** Largest file `file_read_1` reads or `file_write_1` writes, in bytes. @default 4194304 */
  max_file_bytes: withDefault(bounded(256 * 2 ** 20), 4 * 2 ** 20),
  limits: withDefault(PluginLimits, {}),
})
export type WasmReceptorConfig = typeof WasmReceptorConfig.Type
/** `ws://host:port` or `wss://host:port`. */
const WebsocketUrl = Schema.String.check(
  Schema.isPattern(/^wss?:\/\/[A-Za-z0-9.\-]+:[0-9]{1,5}\/?$/, {
    message: "a websocket URL is ws://host:port or wss://host:port",
  }),
)

/** "zome/fn". */
const ZomeFunction = Schema.String.check(
  Schema.isPattern(/^[^/\s]{1,128}\/[^/\s]{1,128}$/, {
    message: "a zome function is written zome/fn",
  }),
)

/**
 * `type: conductor`: calls zome functions of one app on another conductor through its Conductor
 * API websockets (admin: app tokens and a signing grant; app: signed `call_zome`).
 */
export const ConductorReceptorConfig = Schema.Struct({
  ...common,
  type: Schema.Literal("conductor"),
  /** The other conductor's admin websocket. */
  admin_url: WebsocketUrl,
  /** The installed app whose cells are called. */
  app_id: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
  /** Its app interface port; absent: one that admits `origin` and the app, else one is attached. */
  app_port: Schema.optionalKey(bounded(65_535)),
  /** The Origin sent on both websockets. @default "conductor-receptor" */
  origin: withDefault(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
    "conductor-receptor",
  ),
  /** The zome functions it may call ("zome/fn"); absent: every function of the app. */
  functions: Schema.optionalKey(Schema.Array(ZomeFunction).check(Schema.isMaxLength(1024))),
  /** Bound of one call, connecting included, in ms. @default 10000 */
  timeout_ms: withDefault(bounded(600_000), 10_000),
  /** Bound of opening the two websockets, in ms. @default 5000 */
  connect_timeout_ms: withDefault(bounded(600_000), 5_000),
  /** Largest payload sent, as msgpack bytes. @default 1048576 (1 MiB) */
  max_payload_bytes: withDefault(bounded(64 * 2 ** 20), 2 ** 20),
  /** Largest zome function output accepted, as msgpack bytes. @default 16777216 (16 MiB) */
  max_output_bytes: withDefault(bounded(64 * 2 ** 20), 16 * 2 ** 20),
})
export type ConductorReceptorConfig = typeof ConductorReceptorConfig.Type

/** One configured receptor. */
export const ReceptorConfig = Schema.Union([
  LocalStoreReceptorConfig,
  RecoveryReceptorConfig,
  WasmReceptorConfig,
  ConductorReceptorConfig,
]).annotate({
  message: "a receptor needs an id and a type: local_store, recovery, conductor or wasm",
})
export type ReceptorConfig = typeof ReceptorConfig.Type

/** The receptor types this conductor knows. */
export const RECEPTOR_TYPES: ReadonlyArray<ReceptorConfig["type"]> = [
  "local_store",
  "recovery",
  "wasm",
  "conductor",
]

/** Finds the first repeated id or default; `undefined` when the list is consistent. */
function listIssue(list: ReadonlyArray<ReceptorConfig>) {
  const ids = new Map<string, number>()
  const defaults = new Map<string, number>()
  for (const [index, receptor] of list.entries()) {
    const earlier = ids.get(receptor.id)
    if (earlier !== undefined) {
      return {
        path: [index, "id"],
        issue: `receptor id "${receptor.id}" is already used by \`receptors.${earlier}\``,
      }
    }
    ids.set(receptor.id, index)
    if (!receptor.default) continue
    const other = defaults.get(receptor.type)
    if (other !== undefined) {
      return {
        path: [index, "default"],
        issue: `two default ${receptor.type} receptors: this one and \`receptors.${other}\``,
      }
    }
    defaults.set(receptor.type, index)
  }
  return undefined
}

/** The `receptors:` list: ids unique, at most one default per type, at most 256 entries. */
export const ReceptorsConfig = Schema.Array(ReceptorConfig).check(
  Schema.isMaxLength(256),
  Schema.makeFilter(listIssue),
)
