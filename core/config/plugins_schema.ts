/**
 * The configuration of Extism plugins that are not zomes: the `limits:` every such plugin runs
 * under (shared by `type: wasm` receptors and host-function plugins), and the `plugins:` list of
 * host-function plugins with the apps and DNAs each is granted to. It owns the shape only; the
 * loading lives in `plugins/host/`, the receptor type in `receptors/wasm/`.
 *
 * @module
 */
import { Effect, Schema } from "effect"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const bounded = (maximum: number) => PositiveInt.check(Schema.isLessThanOrEqualTo(maximum))

/**
 * What one call into a plugin may use. A call past a limit traps and fails alone: the instance
 * is discarded and the next call gets a fresh one.
 */
export const PluginLimits = Schema.Struct({
  /** Fuel (about 20 per nanosecond of guest work) of one call. @default 1000000000 */
  fuel_per_call: withDefault(bounded(10 ** 14), 1_000_000_000),
  /** Wall-clock deadline of one call, in ms, including time spent waiting in host functions. @default 10000 */
  call_timeout_ms: withDefault(bounded(600_000), 10_000),
  /** Largest linear memory of one instance, in MiB. @default 64 */
  max_memory_mb: withDefault(bounded(4096), 64),
  /** Largest total of kernel blocks (input, output, host function data) of one call, in MiB. @default 16 */
  max_kernel_mb: withDefault(bounded(4096), 16),
  /** Largest input of one call, in bytes. @default 1048576 */
  max_input_bytes: withDefault(bounded(256 * 2 ** 20), 2 ** 20),
  /** Largest output of one call, in bytes. @default 4194304 */
  max_output_bytes: withDefault(bounded(256 * 2 ** 20), 4 * 2 ** 20),
  /** Instances kept for concurrent calls; more calls wait for one. @default 4 */
  instances: withDefault(bounded(64), 4),
})
export type PluginLimits = typeof PluginLimits.Type

/** Which apps and DNAs a plugin's host functions are granted to (as for receptors). */
export const PluginGrants = Schema.Struct({
  /** Installed app ids. */
  apps: withDefault(Schema.Array(Schema.String).check(Schema.isMaxLength(1024)), []),
  /** DNA hashes (base64, `uhC0k…`). */
  dnas: withDefault(Schema.Array(Schema.String).check(Schema.isMaxLength(1024)), []),
})
export type PluginGrants = typeof PluginGrants.Type

/** A plugin id, as in messages and listings. */
export const PluginId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
    message: "a plugin id is 1-64 letters, digits, '_' or '-', starting with a letter or digit",
  }),
)

/** One host-function plugin. */
export const HostFnPluginConfig = Schema.Struct({
  id: PluginId,
  /** The plugin's `.wasm`, relative to the config file's folder. */
  path: Schema.String.check(Schema.isMinLength(1)),
  /** A disabled plugin is not loaded; zomes importing its functions fail to install. @default true */
  enabled: withDefault(Schema.Boolean, true),
  grants: withDefault(PluginGrants, {}),
  limits: withDefault(PluginLimits, {}),
})
export type HostFnPluginConfig = typeof HostFnPluginConfig.Type

function duplicateId(list: ReadonlyArray<HostFnPluginConfig>) {
  const ids = new Map<string, number>()
  for (const [index, plugin] of list.entries()) {
    const earlier = ids.get(plugin.id)
    if (earlier !== undefined) {
      return {
        path: [index, "id"],
        issue: `plugin id "${plugin.id}" is already used by \`plugins.${earlier}\``,
      }
    }
    ids.set(plugin.id, index)
  }
  return undefined
}

/** The `plugins:` list: ids unique, at most 64 entries. */
export const PluginsConfig = Schema.Array(HostFnPluginConfig).check(
  Schema.isMaxLength(64),
  Schema.makeFilter(duplicateId),
)
