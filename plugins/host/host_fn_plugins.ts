/**
 * Host-function plugins: Extism plugins that add namespaced, versioned host functions to zomes
 * (docs/abi.md, "Host-function plugins"). Each configured plugin (`plugins:` in conductor.yaml)
 * is loaded when the conductor starts: instrumented under its `limits`, refused if it imports any
 * host function (plugins of this kind are granted none), asked for its manifest
 * (`plugin_describe`), and checked (ABI version, exports, a non-deterministic function may not
 * run in validation, namespaces unique). Its functions join the host functions zomes may import
 * as `plugin:<namespace>/<name>@<version>`; a call succeeds only for a zome of an app or DNA the
 * plugin is granted to, in a context the function declared. A problem with a plugin fails the
 * start with an error naming the plugin, its config path and its file.
 *
 * @module
 */
import { Effect, Layer, Schema } from "effect"
import * as path from "node:path"
import { encode } from "../../core/codec/mod.ts"
import { ConductorConfig, type HostFnPluginConfig } from "../../core/config/mod.ts"
import { encodeHashB64 } from "../../core/hash/mod.ts"
import type { HostCallContext, HostContextKind } from "../../core/ribosome/context.ts"
import {
  type AnyHostFn,
  ANYWHERE,
  DEFAULT_HOST_FN_FUEL,
  HostFnError,
} from "../../core/ribosome/host_fn/host_fn.ts"
import { HostFns } from "../../core/ribosome/host_fn/registry.ts"
import {
  callableExports,
  checkGrantedImports,
  decodePluginOutput,
  loadPluginWasm,
  PLUGIN_ABI_VERSION,
  PluginPool,
} from "./plugin_module.ts"

/** The export every host-function plugin has: its manifest. */
export const PLUGIN_DESCRIBE_EXPORT = "plugin_describe"

/** Contexts a validation callback runs in: only deterministic functions may run there. */
const VALIDATION: ReadonlySet<HostContextKind> = new Set(["validate", "genesis_self_check"])

const Identifier = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_]{0,63}$/, {
    message: "1-64 of a-z, 0-9 and '_', starting with a letter",
  }),
)

/** What `plugin_describe` answers (msgpack). */
export const HostFnPluginManifest = Schema.Struct({
  "abi_version": Schema.Number,
  namespace: Identifier,
  functions: Schema.Array(Schema.Struct({
    name: Identifier,
    version: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
    deterministic: Schema.Boolean,
    contexts: Schema.Array(
      Schema.Literals(["zome_call", "init", "post_commit", "validate", "genesis_self_check"]),
    ).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  })).check(Schema.isMinLength(1), Schema.isMaxLength(256)),
})
export type HostFnPluginManifest = typeof HostFnPluginManifest.Type

/** The guest import name of a plugin host function. */
export function pluginHostFnName(namespace: string, name: string, version: number): string {
  return `plugin:${namespace}/${name}@${version}`
}

/** A configured host-function plugin could not be loaded. */
export class PluginError extends Schema.TaggedError<PluginError>()("PluginError", {
  pluginId: Schema.String,
  /** `plugins.N` in conductor.yaml. */
  configPath: Schema.String,
  /** The config file. */
  source: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `plugin "${this.pluginId}" (${this.source} at ${this.configPath}): ${this.detail}`
  }
}

/** A loaded plugin: its manifest and host functions. */
export interface LoadedHostFnPlugin {
  readonly id: string
  readonly manifest: HostFnPluginManifest
  readonly hostFns: ReadonlyArray<AnyHostFn>
}

function granted(config: HostFnPluginConfig, ctx: HostCallContext): boolean {
  return config.grants.apps.includes(ctx.cell.appId) ||
    (config.grants.dnas.length > 0 &&
      config.grants.dnas.includes(encodeHashB64(ctx.cell.dna.hash)))
}

/** Loads one plugin; its instances are dropped when the scope closes. */
export function loadHostFnPlugin(
  config: HostFnPluginConfig,
  index: number,
  options: { readonly baseDir: string; readonly source: string },
) {
  return Effect.gen(function* () {
    const configPath = `plugins.${index}`
    const file = path.resolve(options.baseDir, config.path)
    const fail = (detail: string) =>
      new PluginError({ pluginId: config.id, configPath, source: options.source, detail })
    const read = loadPluginWasm(file, config.limits)
    if ("problem" in read) return yield* Effect.fail(fail(read.problem))
    const refused = checkGrantedImports(read.loaded, new Set(), new Map())
    if (refused !== undefined) {
      return yield* Effect.fail(
        fail(`${file}: ${refused} (host-function plugins are granted no host functions)`),
      )
    }
    const exports = callableExports(read.loaded)
    if (!exports.has(PLUGIN_DESCRIBE_EXPORT)) {
      return yield* Effect.fail(
        fail(`${file} does not export ${PLUGIN_DESCRIBE_EXPORT}, so it is not a plugin`),
      )
    }
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new PluginPool(read.loaded, {
          name: `plugin "${config.id}"`,
          limitsPath: `${configPath}.limits`,
          limits: config.limits,
          hostFunctions: {},
        })
      ),
      (pool) => Effect.sync(() => pool.close()),
    )
    const described = yield* Effect.promise(() =>
      pool.call(PLUGIN_DESCRIBE_EXPORT, new Uint8Array(0))
    )
    if (described._tag !== "Ok") {
      return yield* Effect.fail(fail(`${PLUGIN_DESCRIBE_EXPORT} failed: ${described.message}`))
    }
    const decoded = decodePluginOutput(described.output)
    if ("problem" in decoded) {
      return yield* Effect.fail(fail(`${PLUGIN_DESCRIBE_EXPORT}: ${decoded.problem}`))
    }
    const version = (decoded.value as { abi_version?: unknown } | null)?.abi_version
    if (version !== PLUGIN_ABI_VERSION) {
      return yield* Effect.fail(
        fail(
          `${file} declares abi_version ${
            JSON.stringify(version ?? null)
          }; this conductor implements plugin ABI version ${PLUGIN_ABI_VERSION}`,
        ),
      )
    }
    const manifest = yield* Schema.decodeUnknownEffect(HostFnPluginManifest)(decoded.value).pipe(
      Effect.mapError((error) =>
        fail(`${PLUGIN_DESCRIBE_EXPORT} answered a manifest that does not fit: ${error.message}`)
      ),
    )

    const hostFns: Array<AnyHostFn> = []
    for (const fn of manifest.functions) {
      const name = pluginHostFnName(manifest.namespace, fn.name, fn.version)
      const exportName = `${fn.name}_${fn.version}`
      if (!exports.has(exportName)) {
        return yield* Effect.fail(
          fail(`it declares ${name} but does not export ${exportName}`),
        )
      }
      if (hostFns.some((h) => h.name === name)) {
        return yield* Effect.fail(fail(`it declares ${name} twice`))
      }
      const validating = fn.contexts.filter((c) => VALIDATION.has(c))
      if (!fn.deterministic && validating.length > 0) {
        return yield* Effect.fail(
          fail(
            `${name} is declared non-deterministic but allowed in ${
              validating.join(" and ")
            }; validation may only use deterministic functions`,
          ),
        )
      }
      const contexts: ReadonlySet<HostContextKind> = new Set(fn.contexts)
      const denied = (detail: string) => Effect.fail(new HostFnError({ kind: "denied", detail }))
      hostFns.push({
        name,
        input: Schema.Unknown,
        // Contexts are checked in `run`, with messages that say why.
        allowedIn: ANYWHERE,
        fuel: DEFAULT_HOST_FN_FUEL,
        run: (ctx, input) => {
          if (!granted(config, ctx)) {
            return denied(
              `${name} is not granted to app "${ctx.cell.appId}" (DNA ${
                encodeHashB64(ctx.cell.dna.hash)
              }); the operator grants it in ${configPath}.grants of ${options.source}`,
            )
          }
          if (VALIDATION.has(ctx.kind) && !fn.deterministic) {
            return denied(`${name} is not deterministic, so ${ctx.kind} may not use it`)
          }
          if (!contexts.has(ctx.kind)) {
            return denied(
              `${name} may run in ${[...contexts].join(", ")}, not in a ${ctx.kind} call`,
            )
          }
          return Effect.flatMap(
            Effect.promise(() => pool.call(exportName, encode(input))),
            (result) => {
              if (result._tag === "GuestError") {
                return Effect.fail(
                  new HostFnError({ kind: "invalid", detail: `${name}: ${result.message}` }),
                )
              }
              if (result._tag === "Trap") {
                return Effect.fail(new HostFnError({ kind: "internal", detail: result.message }))
              }
              if (result._tag === "TooLarge" || result._tag === "Busy") {
                return Effect.fail(new HostFnError({ kind: "limit", detail: result.message }))
              }
              const output = decodePluginOutput(result.output)
              return "problem" in output
                ? Effect.fail(
                  new HostFnError({ kind: "internal", detail: `${name}: ${output.problem}` }),
                )
                : Effect.succeed(output.value)
            },
          )
        },
      })
    }
    return { id: config.id, manifest, hostFns } satisfies LoadedHostFnPlugin
  })
}

/** Loads every enabled configured plugin, in config order; namespaces must be unique. */
export const loadHostFnPlugins = Effect.gen(function* () {
  const config = yield* ConductorConfig
  const baseDir = config.source.startsWith("<")
    ? Deno.cwd()
    : path.dirname(path.resolve(config.source))
  const loaded: Array<LoadedHostFnPlugin> = []
  const namespaces = new Map<string, string>()
  for (const [index, plugin] of config.plugins.entries()) {
    if (!plugin.enabled) continue
    const one = yield* loadHostFnPlugin(plugin, index, { baseDir, source: config.source })
    const other = namespaces.get(one.manifest.namespace)
    if (other !== undefined) {
      return yield* Effect.fail(
        new PluginError({
          pluginId: plugin.id,
          configPath: `plugins.${index}`,
          source: config.source,
          detail: `namespace "${one.manifest.namespace}" is already provided by plugin "${other}"`,
        }),
      )
    }
    namespaces.set(one.manifest.namespace, plugin.id)
    loaded.push(one)
    yield* Effect.logDebug(`plugin ${plugin.id} loaded: namespace ${one.manifest.namespace}`)
  }
  return loaded
})

/**
 * The host functions zomes may import: those already provided (the built-in ones, or a test's
 * map) plus those of the configured plugins. Provides `HostFns`, which the ribosome and the
 * install-time import check read.
 */
export const PluginHostFnsLayer = Layer.effect(
  HostFns,
  Effect.gen(function* () {
    const base = yield* HostFns
    const plugins = yield* loadHostFnPlugins
    if (plugins.length === 0) return base
    const all = new Map(base)
    for (const plugin of plugins) for (const fn of plugin.hostFns) all.set(fn.name, fn)
    return all as ReadonlyMap<string, AnyHostFn>
  }),
)
