/**
 * The `Receptors` service: the registry of configured receptors. It starts every enabled
 * receptor in config order when the conductor starts (a receptor that cannot start stops the
 * start with an error naming it), stops them in reverse order with the conductor, and answers
 * lookups by id, by type and "the default of a type": the one marked `default: true`, else the
 * first of that type in config order — never hash order. It does not know any receptor type;
 * `receptors/mod.ts` passes the function that starts one.
 *
 * @module
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as path from "node:path"
import { ConductorConfig, type ReceptorConfig } from "../config/mod.ts"
import {
  callReceptor,
  describeOperations,
  type Receptor,
  ReceptorError,
  type ReceptorHealth,
  ReceptorNotFound,
} from "./receptor.ts"
import {
  isGranted,
  type ReceptorCaller,
  ReceptorNotGranted,
  type ReceptorTarget,
} from "./grants.ts"

/** Where a receptor keeps its files and how durable its writes are. */
export interface ReceptorEnv {
  /** `<data_dir>/receptors`; a receptor's file is `<dir>/<id>.sqlite3`. */
  readonly dir: string
  readonly synchronous: "full" | "normal"
  /** The config file's folder, against which receptors resolve relative paths (the cwd if unset). */
  readonly configDir?: string
}

/** Starts one receptor; its resources are released when the scope closes. */
export type StartReceptor = (
  config: ReceptorConfig,
  env: ReceptorEnv,
) => Effect.Effect<Receptor, ReceptorError, Scope.Scope>

/** A configured receptor as listings show it. */
export interface ReceptorStatus {
  readonly id: string
  readonly type: string
  readonly enabled: boolean
  /** Whether it is the default of its type (explicit, or the first enabled one in config order). */
  readonly default: boolean
  readonly health: ReceptorHealth
  readonly operations: ReadonlyArray<
    { readonly name: string; readonly "read_only": boolean; readonly summary: string }
  >
}

/** What the registry offers. */
export interface ReceptorsShape {
  /** Every configured receptor, in config order, with its health. */
  readonly list: Effect.Effect<ReadonlyArray<ReceptorStatus>>
  /** One receptor's status. */
  readonly status: (id: string) => Effect.Effect<ReceptorStatus, ReceptorNotFound>
  /** A started receptor by id; a disabled one is a `Disabled` error. */
  readonly get: (id: string) => Effect.Effect<Receptor, ReceptorNotFound | ReceptorError>
  /** The started receptors of a type, in config order. */
  readonly byType: (type: string) => ReadonlyArray<Receptor>
  /** The default receptor of a type. */
  readonly defaultOf: (type: string) => Effect.Effect<Receptor, ReceptorNotFound>
  /**
   * Calls `operation` of receptor `id` with untrusted `input` (decoded by the operation's schema).
   * The one entry point of the admin API, the CLI, and later zomes and flows.
   */
  readonly call: (
    id: string,
    operation: string,
    input: unknown,
  ) => Effect.Effect<unknown, ReceptorNotFound | ReceptorError>
  /**
   * `call` on behalf of a zome: resolves `target` (an id, or the default of a type), refuses
   * unless the receptor's `grants` list the caller's app or DNA, then calls it. The path of
   * `receptor_call_1`.
   */
  readonly callAs: (
    caller: ReceptorCaller,
    target: ReceptorTarget,
    operation: string,
    input: unknown,
  ) => Effect.Effect<unknown, ReceptorNotFound | ReceptorNotGranted | ReceptorError>
}

const DISABLED: ReceptorHealth = {
  status: "disabled",
  detail: "enabled: false in the config",
  info: {},
}

/** The registry. */
export class Receptors extends Context.Service<Receptors, ReceptorsShape>()(
  "conductor/receptors/Receptors",
) {
  /** Starts the enabled receptors of `configs` in order. */
  static readonly make = (
    configs: ReadonlyArray<ReceptorConfig>,
    env: ReceptorEnv,
    start: StartReceptor,
  ) =>
    Effect.gen(function* () {
      const started = new Map<string, Receptor>()
      for (const [index, config] of configs.entries()) {
        if (!config.enabled) continue
        const receptor = yield* start(config, env).pipe(
          Effect.mapError((error) =>
            new ReceptorError({
              receptorId: config.id,
              operation: "start",
              reason: "StartFailed",
              detail: `receptors.${index} (type ${config.type}) did not start: ${error.detail}`,
              cause: error,
            })
          ),
        )
        started.set(config.id, receptor)
        yield* Effect.logDebug(`receptor ${config.id} (${config.type}) started`)
      }
      const ids = configs.map((c) => c.id)
      const defaults = new Map<string, string>()
      for (const config of configs) {
        if (config.enabled && config.default) defaults.set(config.type, config.id)
      }
      for (const config of configs) {
        if (config.enabled && !defaults.has(config.type)) defaults.set(config.type, config.id)
      }

      const notFound = (id: string) => new ReceptorNotFound({ receptorId: id, known: ids })
      const statusOf = (config: ReceptorConfig) =>
        Effect.gen(function* () {
          const receptor = started.get(config.id)
          return {
            id: config.id,
            type: config.type,
            enabled: config.enabled,
            default: defaults.get(config.type) === config.id,
            health: receptor === undefined ? DISABLED : yield* receptor.health,
            operations: receptor === undefined ? [] : describeOperations(receptor),
          } satisfies ReceptorStatus
        })
      const configOf = (id: string) => configs.find((c) => c.id === id)

      const get = Effect.fn("Receptors.get")(function* (id: string) {
        const receptor = started.get(id)
        if (receptor !== undefined) return receptor
        const config = configOf(id)
        if (config === undefined) return yield* notFound(id)
        return yield* new ReceptorError({
          receptorId: id,
          operation: "get",
          reason: "Disabled",
          detail: "the receptor is configured with enabled: false",
        })
      })

      const call = Effect.fn("Receptors.call")(
        function* (id: string, operation: string, input: unknown) {
          const receptor = yield* get(id)
          return yield* callReceptor(receptor, operation, input)
        },
      )

      // Untraced: zomes call it once per receptor_call_1, and a traced Effect.fn costs tens of
      // µs per call here (bench/receptors_bench.ts, docs/benchmarks.md "Receptor calls from zomes").
      const callAs = Effect.fnUntraced(function* (
        caller: ReceptorCaller,
        target: ReceptorTarget,
        operation: string,
        input: unknown,
      ) {
        const id = "id" in target ? target.id : defaults.get(target.type)
        const config = id === undefined ? undefined : configOf(id)
        if (config === undefined) {
          return yield* notFound("id" in target ? target.id : `<default ${target.type}>`)
        }
        if (!isGranted(config.grants, caller)) {
          return yield* new ReceptorNotGranted({ receptorId: config.id, ...caller })
        }
        const receptor = started.get(config.id)
        if (receptor === undefined) return yield* get(config.id)
        return yield* callReceptor(receptor, operation, input)
      })

      return Receptors.of({
        list: Effect.forEach(configs, statusOf),
        status: (id) => {
          const config = configOf(id)
          return config === undefined ? Effect.fail(notFound(id)) : statusOf(config)
        },
        get,
        byType: (type) =>
          configs.flatMap((c) => {
            const receptor = c.type === type ? started.get(c.id) : undefined
            return receptor === undefined ? [] : [receptor]
          }),
        defaultOf: (type) => {
          const id = defaults.get(type)
          const receptor = id === undefined ? undefined : started.get(id)
          return receptor === undefined
            ? Effect.fail(notFound(`<default ${type}>`))
            : Effect.succeed(
              receptor,
            )
        },
        call,
        callAs,
      })
    })

  /** The configured receptors under `<data_dir>/receptors`, started by `start`. */
  static readonly layer = (start: StartReceptor) =>
    Layer.effect(
      Receptors,
      Effect.gen(function* () {
        const config = yield* ConductorConfig
        return yield* Receptors.make(config.receptors, {
          dir: path.join(config.dataDirPath, "receptors"),
          synchronous: config.storage.synchronous,
          configDir: config.source.startsWith("<")
            ? Deno.cwd()
            : path.dirname(path.resolve(config.source)),
        }, start)
      }),
    )
}
