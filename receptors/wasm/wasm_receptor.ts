/**
 * The `wasm` receptor type: an Extism plugin implementing the receptor ABI (docs/abi.md,
 * "Receptor plugins"). At start it reads and instruments the `.wasm` under the receptor's
 * `limits`, refuses imports of capabilities the config did not grant, calls `receptor_describe`
 * and checks the ABI version and that every operation it lists is exported. A call encodes the
 * caller's JSON input as msgpack, runs the operation's export in a pooled instance under the
 * limits, and turns its msgpack output back into JSON. A trap, a runaway loop or an allocation
 * past the memory cap fails that call alone (`Trapped`); the instance is replaced.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import * as path from "node:path"
import { encode } from "../../core/codec/mod.ts"
import type { WasmReceptorConfig } from "../../core/config/mod.ts"
import {
  openReceptorStore,
  operation,
  type Receptor,
  type ReceptorEnv,
  ReceptorError,
  type ReceptorErrorReason,
} from "../../core/receptors/mod.ts"
import {
  callableExports,
  checkGrantedImports,
  decodePluginOutput,
  loadPluginWasm,
  PLUGIN_ABI_VERSION,
  PluginPool,
} from "../../plugins/host/mod.ts"
import { grantedHostFunctions, KV_MIGRATIONS, RECEPTOR_HOST_FUNCTIONS } from "./capabilities.ts"

/** The export every receptor plugin has: its manifest. */
export const DESCRIBE_EXPORT = "receptor_describe"

const OperationName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_]{0,63}$/, {
    message: "an operation name is 1-64 of a-z, 0-9 and '_', starting with a letter",
  }),
)

/** What `receptor_describe` answers (msgpack). */
export const ReceptorManifest = Schema.Struct({
  "abi_version": Schema.Number,
  name: Schema.String.check(Schema.isMaxLength(128)),
  operations: Schema.Array(Schema.Struct({
    name: OperationName,
    "read_only": Schema.Boolean,
    summary: Schema.String.check(Schema.isMaxLength(1024)),
  })).check(Schema.isMinLength(1), Schema.isMaxLength(256)),
})
export type ReceptorManifest = typeof ReceptorManifest.Type

/** Reasons a plugin may give at the start of its error text (`"NotFound: no such key"`). */
const GUEST_REASONS: ReadonlySet<ReceptorErrorReason> = new Set([
  "InvalidInput",
  "NotFound",
  "Conflict",
  "TooLarge",
  "LimitReached",
])

/** Converts a decoded msgpack value to JSON; the problem as text otherwise. */
export function toJson(value: unknown, depth = 0): Schema.Json {
  if (depth > 64) throw new Error("nested deeper than 64")
  if (value === null || typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a JSON number`)
    return value
  }
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error(`${value} is outside the JSON-safe integer range`)
    }
    return Number(value)
  }
  if (value === undefined) return null
  if (value instanceof Uint8Array) throw new Error("binary data has no JSON form")
  if (Array.isArray(value)) return value.map((v) => toJson(v, depth + 1))
  if (typeof value === "object") {
    const out: Record<string, Schema.Json> = {}
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a "__proto__" key stays a key instead of replacing the prototype.
      Object.defineProperty(out, k, {
        value: toJson(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  }
  throw new Error(`a ${typeof value} has no JSON form`)
}

/** Starts a wasm receptor. */
export function startWasmReceptor(config: WasmReceptorConfig, env: ReceptorEnv) {
  return Effect.gen(function* () {
    const fail = (op: string, reason: ReceptorErrorReason, detail: string) =>
      new ReceptorError({ receptorId: config.id, operation: `wasm.${op}`, reason, detail })
    const baseDir = env.configDir ?? Deno.cwd()
    const file = path.resolve(baseDir, config.path)
    const startFailed = (detail: string) => fail("start", "StartFailed", `${file}: ${detail}`)

    const read = loadPluginWasm(file, config.limits)
    if ("problem" in read) return yield* Effect.fail(fail("start", "StartFailed", read.problem))
    const loaded = read.loaded
    const store = config.kv ? yield* openReceptorStore(env, config, KV_MIGRATIONS) : undefined
    const hostFunctions = grantedHostFunctions(config, store, baseDir)
    const refused = checkGrantedImports(
      loaded,
      new Set(Object.keys(hostFunctions)),
      RECEPTOR_HOST_FUNCTIONS,
    )
    if (refused !== undefined) return yield* Effect.fail(startFailed(refused))
    const exports = callableExports(loaded)
    if (!exports.has(DESCRIBE_EXPORT)) {
      return yield* Effect.fail(
        startFailed(`it does not export ${DESCRIBE_EXPORT}, so it is not a receptor plugin`),
      )
    }

    const services = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(services)
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new PluginPool(loaded, {
          name: `receptor "${config.id}"`,
          limitsPath: "limits",
          limits: config.limits,
          hostFunctions,
          logger: (level, message) => {
            const log = level === "error"
              ? Effect.logError
              : level === "warn"
              ? Effect.logWarning
              : level === "info"
              ? Effect.logInfo
              : Effect.logDebug
            runFork(log(message).pipe(Effect.annotateLogs({ receptor: config.id })))
          },
        })
      ),
      (pool) => Effect.sync(() => pool.close()),
    )

    const described = yield* Effect.promise(() => pool.call(DESCRIBE_EXPORT, new Uint8Array(0)))
    if (described._tag !== "Ok") {
      return yield* Effect.fail(startFailed(`${DESCRIBE_EXPORT} failed: ${described.message}`))
    }
    const decoded = decodePluginOutput(described.output)
    if ("problem" in decoded) {
      return yield* Effect.fail(startFailed(`${DESCRIBE_EXPORT}: ${decoded.problem}`))
    }
    const version = (decoded.value as { abi_version?: unknown } | null)?.abi_version
    if (version !== PLUGIN_ABI_VERSION) {
      return yield* Effect.fail(
        startFailed(
          `it declares abi_version ${
            JSON.stringify(version ?? null)
          }; this conductor implements receptor ABI version ${PLUGIN_ABI_VERSION}`,
        ),
      )
    }
    const manifest = yield* Schema.decodeUnknownEffect(ReceptorManifest)(decoded.value).pipe(
      Effect.mapError((error) =>
        startFailed(`${DESCRIBE_EXPORT} answered a manifest that does not fit: ${error.message}`)
      ),
    )
    const seen = new Set<string>()
    for (const op of manifest.operations) {
      if (seen.has(op.name)) return yield* Effect.fail(startFailed(`operation ${op.name} twice`))
      seen.add(op.name)
      if (!exports.has(op.name) || op.name === DESCRIBE_EXPORT) {
        return yield* Effect.fail(
          startFailed(`it lists operation ${op.name} but does not export a function of that name`),
        )
      }
    }

    const run = (name: string) => (input: Schema.Json) =>
      Effect.gen(function* () {
        const result = yield* Effect.promise(() => pool.call(name, encode(input)))
        if (result._tag === "Trap") return yield* Effect.fail(fail(name, "Trapped", result.message))
        if (result._tag === "TooLarge") {
          return yield* Effect.fail(fail(name, "TooLarge", result.message))
        }
        if (result._tag === "Busy") {
          return yield* Effect.fail(fail(name, "LimitReached", result.message))
        }
        if (result._tag === "GuestError") {
          const match = /^([A-Za-z]+): ([\s\S]*)$/.exec(result.message)
          const reason = match?.[1] as ReceptorErrorReason | undefined
          return yield* Effect.fail(
            reason !== undefined && GUEST_REASONS.has(reason)
              ? fail(name, reason, match![2]!)
              : fail(name, "Failed", result.message),
          )
        }
        const output = decodePluginOutput(result.output)
        if ("problem" in output) return yield* Effect.fail(fail(name, "Failed", output.problem))
        return yield* Effect.try({
          try: () => toJson(output.value),
          catch: (cause) =>
            fail(name, "Failed", `its output has no JSON form: ${(cause as Error).message}`),
        })
      })

    const operations = Object.fromEntries(
      manifest.operations.map((op) => [
        op.name,
        operation(Schema.Json, { readOnly: op.read_only, summary: op.summary }, run(op.name)),
      ]),
    )

    const receptor: Receptor = {
      id: config.id,
      type: "wasm",
      operations,
      health: Effect.sync(() => {
        const stats = pool.stats()
        return {
          status: "ok" as const,
          detail: `${manifest.name} (${file})`,
          info: { ...stats, plugin: manifest.name },
        }
      }),
    }
    return { receptor, manifest }
  })
}
