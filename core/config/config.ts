/**
 * The `ConductorConfig` service: `conductor.yaml` read once, decoded with Effect Schema, relative
 * paths resolved, and the keystore passphrase looked up. This is the only module that reads the
 * environment. Every failure is a `ConfigError` naming the file and, for each problem found (all
 * of them at once), the key path and the key's line; a misspelt key gets a "did you mean".
 *
 * @module
 */
import { Context, Effect, Layer, Redacted, Schema, SchemaAST, SchemaIssue } from "effect"
import { distance } from "fastest-levenshtein"
import * as path from "node:path"
import * as YAML from "yaml"
import { resolveNetworkPaths } from "./network_schema.ts"
import { type ConductorConfigData, ConductorConfigSchema } from "./schema.ts"

/** One problem in a config: where it is and what is wrong. */
export const ConfigProblem = Schema.Struct({
  /** Dotted key path of the offending value (`admin_interfaces.0.driver.port`); empty for the whole file. */
  keyPath: Schema.String,
  /** 1-based line of the offending key, when known. */
  line: Schema.NullOr(Schema.Number),
  detail: Schema.String,
})
export type ConfigProblem = typeof ConfigProblem.Type

/**
 * A configuration that could not be read or does not fit the schema. It carries every problem
 * found (`problems`, in line order); `keyPath`, `line` and `detail` are the first one's.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  /** The config file, or `<embedded default>`. */
  file: Schema.String,
  keyPath: Schema.String,
  line: Schema.NullOr(Schema.Number),
  detail: Schema.String,
  problems: Schema.Array(ConfigProblem),
}) {
  /** An error from one or more problems (at least one). */
  static fromProblems(file: string, problems: ReadonlyArray<ConfigProblem>): ConfigError {
    const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    const first = sorted[0] ?? { keyPath: "", line: null, detail: "invalid" }
    return new ConfigError({ file, ...first, problems: sorted })
  }

  override get message(): string {
    const at = (p: ConfigProblem) => {
      const where = p.line === null ? this.file : `${this.file}:${p.line}`
      return `${where}${p.keyPath === "" ? "" : ` at ${p.keyPath}`}: ${p.detail}`
    }
    if (this.problems.length <= 1) return `invalid config ${at(this)}`
    return `invalid config ${this.file}, ${this.problems.length} problems:\n${
      this.problems.map((p) => `  ${at(p)}`).join("\n")
    }`
  }
}

/** The decoded config plus what was resolved from it. */
export interface ConductorConfigShape extends ConductorConfigData {
  /** Where the config came from: a path, or `<embedded default>`. */
  readonly source: string
  /** `data_dir` made absolute (relative to the config file's folder, or the working directory). */
  readonly dataDirPath: string
  /** The keystore passphrase, when one was configured or found in the environment. */
  readonly passphrase: Redacted.Redacted<string> | undefined
}

/** The embedded default's source name. */
export const EMBEDDED_DEFAULT = "<embedded default>"

const decode = Schema.decodeUnknownEffect(ConductorConfigSchema)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

interface ResolveEnv {
  readonly cwd: string
  readonly env: (name: string) => string | undefined
  readonly readFile: (file: string) => string | undefined
}

/** The 1-based line of the key at `keyPath` (of its nearest existing parent when it is missing). */
function lineOf(
  doc: YAML.Document,
  counter: YAML.LineCounter,
  keyPath: ReadonlyArray<PropertyKey>,
): number | null {
  const lineAt = (offset: number) => counter.linePos(offset).line
  let node: unknown = doc.contents
  let line = YAML.isNode(node) && node.range ? lineAt(node.range[0]) : null
  for (const segment of keyPath) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => (YAML.isScalar(p.key) ? p.key.value : p.key) === segment)
      if (pair === undefined) break
      if (YAML.isNode(pair.key) && pair.key.range) line = lineAt(pair.key.range[0])
      node = pair.value
    } else if (YAML.isSeq(node) && typeof segment === "number") {
      const item = node.items[segment]
      if (!YAML.isNode(item) || !item.range) break
      line = lineAt(item.range[0])
      node = item
    } else {
      break
    }
  }
  return line
}

/** The 1-based line of the key at `keyPath` in YAML `text`, or `null` when the text has none. */
export function configKeyLine(
  text: string,
  keyPath: ReadonlyArray<string | number>,
): number | null {
  const counter = new YAML.LineCounter()
  return lineOf(YAML.parseDocument(text, { lineCounter: counter }), counter, keyPath)
}

/** The keys a mapping at `keyPath` may have, or `undefined` when any key is allowed there. */
function allowedKeys(keyPath: ReadonlyArray<PropertyKey>): ReadonlyArray<string> | undefined {
  let ast: SchemaAST.AST = ConductorConfigSchema.ast
  const objectsIn = (node: SchemaAST.AST): SchemaAST.Objects | undefined =>
    SchemaAST.isObjects(node)
      ? node
      : SchemaAST.isUnion(node)
      ? node.types.map(objectsIn).find((o) => o !== undefined)
      : undefined
  const arraysIn = (node: SchemaAST.AST): SchemaAST.Arrays | undefined =>
    SchemaAST.isArrays(node)
      ? node
      : SchemaAST.isUnion(node)
      ? node.types.map(arraysIn).find((a) => a !== undefined)
      : undefined
  for (const segment of keyPath) {
    const arrays: SchemaAST.Arrays | undefined = typeof segment === "number"
      ? arraysIn(ast)
      : undefined
    if (arrays !== undefined) {
      const element: SchemaAST.AST | undefined = arrays.elements[segment as number] ??
        arrays.rest[0]
      if (element === undefined) return undefined
      ast = element
      continue
    }
    const objects = objectsIn(ast)
    if (objects === undefined) return undefined
    const property = objects.propertySignatures.find((p) => p.name === segment)
    if (property !== undefined) {
      ast = property.type
    } else if (objects.indexSignatures[0] !== undefined) {
      ast = objects.indexSignatures[0].type
    } else {
      return undefined
    }
  }
  const objects = objectsIn(ast)
  if (objects === undefined || objects.indexSignatures.length > 0) return undefined
  return objects.propertySignatures.map((p) => String(p.name))
}

/** "unknown key" with the closest allowed key when one is near enough to be a typo. */
function unknownKey(key: string, allowed: ReadonlyArray<string>): string {
  const near = allowed
    .map((candidate) => ({ candidate, d: distance(key, candidate) }))
    .filter(({ candidate, d }) =>
      d <= Math.max(2, Math.floor(key.length / 3)) ||
      (key.length >= 3 && (candidate.startsWith(key) || key.startsWith(candidate)))
    )
    .sort((a, b) => a.d - b.d)[0]
  const hint = near === undefined
    ? `; allowed here: ${allowed.join(", ")}`
    : `; did you mean "${near.candidate}"?`
  return `unknown key "${key}"${hint}`
}

/** Adds the offending value to a message when it is a short scalar. */
function withActual(message: string, actual: unknown): string {
  if (actual === undefined || (actual !== null && typeof actual === "object")) return message
  const shown = JSON.stringify(actual)
  return shown.length > 60 ? message : `${message}, got ${shown}`
}

/** Adds the line to every `` `key.path` `` a message mentions (a duplicate names the first place). */
function withLines(message: string, doc: YAML.Document, counter: YAML.LineCounter): string {
  return message.replace(/`([\w.-]+)`/g, (mention, keyPath: string) => {
    const keys = keyPath.split(".").map((k) => /^\d+$/.test(k) ? Number(k) : k)
    const line = doc.hasIn(keys) ? lineOf(doc, counter, keys) : null
    return line === null ? mention : `${keyPath} (line ${line})`
  })
}

/** Parses and decodes config text. Pure apart from the injected environment. */
export function parseConfig(
  text: string,
  source: string,
  resolve: ResolveEnv,
): Effect.Effect<ConductorConfigShape, ConfigError> {
  return Effect.gen(function* () {
    const counter = new YAML.LineCounter()
    const doc = YAML.parseDocument(text, {
      lineCounter: counter,
      prettyErrors: false,
      uniqueKeys: true,
    })
    if (doc.errors.length > 0) {
      return yield* ConfigError.fromProblems(
        source,
        doc.errors.map((e) => ({
          keyPath: "",
          line: counter.linePos(e.pos[0]).line,
          detail: e.message.split("\n")[0] ?? e.message,
        })),
      )
    }
    const raw = doc.toJS() ?? {}
    if (typeof raw !== "object" || Array.isArray(raw)) {
      return yield* ConfigError.fromProblems(source, [
        { keyPath: "", line: 1, detail: "the config must be a YAML mapping" },
      ])
    }
    // Every problem at once, each on its key's line; an unknown key names the closest known one.
    const data = yield* decode(raw, { onExcessProperty: "error", errors: "all" }).pipe(
      Effect.mapError((error) =>
        ConfigError.fromProblems(
          source,
          formatter(error.issue).issues.map((issue) => {
            const keyPath: ReadonlyArray<PropertyKey> = (issue.path ?? []).map((p) =>
              typeof p === "object" && p !== null && "key" in p ? p.key : p
            )
            const key = keyPath.at(-1)
            const allowed = typeof key === "string" ? allowedKeys(keyPath.slice(0, -1)) : undefined
            const detail =
              key !== undefined && allowed !== undefined && !allowed.includes(String(key))
                ? unknownKey(String(key), allowed)
                : withLines(withActual(issue.message, doc.getIn(keyPath)), doc, counter)
            return {
              keyPath: keyPath.map(String).join("."),
              line: lineOf(doc, counter, keyPath),
              detail,
            }
          }),
        )
      ),
    )
    const baseDir = source === EMBEDDED_DEFAULT
      ? resolve.cwd
      : path.dirname(path.resolve(resolve.cwd, source))
    const dataDirPath = path.resolve(baseDir, data.data_dir)
    let passphrase: string | undefined = data.keystore.passphrase ?? undefined
    if (passphrase === undefined && data.keystore.passphrase_file) {
      const file = path.resolve(baseDir, data.keystore.passphrase_file)
      const content = resolve.readFile(file)
      if (content === undefined) {
        return yield* ConfigError.fromProblems(source, [{
          keyPath: "keystore.passphrase_file",
          line: lineOf(doc, counter, ["keystore", "passphrase_file"]),
          detail: `cannot read passphrase file ${file}`,
        }])
      }
      passphrase = content.split(/\r?\n/)[0] ?? ""
    }
    passphrase ??= resolve.env(data.keystore.passphrase_env)
    return {
      ...data,
      network: resolveNetworkPaths(data.network, baseDir),
      source,
      dataDirPath,
      passphrase: passphrase === undefined ? undefined : Redacted.make(passphrase),
    }
  })
}

const denoResolve: ResolveEnv = {
  cwd: Deno.cwd(),
  env: (name) => Deno.env.get(name),
  readFile: (file) => {
    try {
      return Deno.readTextFileSync(file)
    } catch {
      return undefined
    }
  },
}

/** The conductor's configuration, decoded once. */
export class ConductorConfig extends Context.Service<ConductorConfig, ConductorConfigShape>()(
  "conductor/config/ConductorConfig",
) {
  /** Reads `file`; a missing or unreadable file is a `ConfigError`. */
  static readonly fromFile = (file: string) =>
    Layer.effect(
      ConductorConfig,
      Effect.gen(function* () {
        const text = yield* Effect.try({
          try: () => Deno.readTextFileSync(file),
          catch: (cause) =>
            ConfigError.fromProblems(file, [{
              keyPath: "",
              line: null,
              detail: cause instanceof Deno.errors.NotFound ? "file not found" : String(cause),
            }]),
        })
        return ConductorConfig.of(yield* parseConfig(text, file, denoResolve))
      }),
    )

  /** The embedded default: every key at its default, data under the working directory. */
  static readonly layerDefault = Layer.effect(
    ConductorConfig,
    Effect.map(parseConfig("{}", EMBEDDED_DEFAULT, denoResolve), ConductorConfig.of),
  )

  /** Config from YAML text, for tests; the environment is not consulted. */
  static readonly fromYaml = (text: string, options: { readonly cwd?: string } = {}) =>
    Layer.effect(
      ConductorConfig,
      Effect.map(
        parseConfig(text, "<test config>", {
          cwd: options.cwd ?? Deno.cwd(),
          env: () => undefined,
          readFile: denoResolve.readFile,
        }),
        ConductorConfig.of,
      ),
    )
}
