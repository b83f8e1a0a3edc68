/**
 * The `ConductorConfig` service: `conductor.yaml` read once, decoded with Effect Schema, relative
 * paths resolved, and the keystore passphrase looked up. This is the only module that reads the
 * environment. Every failure is a `ConfigError` naming the file, the key path and the line.
 *
 * @module
 */
import { Context, Effect, Layer, Redacted, Schema, SchemaIssue } from "effect"
import * as path from "node:path"
import * as YAML from "yaml"
import { type ConductorConfigData, ConductorConfigSchema } from "./schema.ts"

/** A configuration that could not be read or does not fit the schema. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  /** The config file, or `<embedded default>`. */
  file: Schema.String,
  /** Dotted key path of the offending value (`admin_interfaces.0.driver.port`); empty for the whole file. */
  keyPath: Schema.String,
  /** 1-based line of the offending value, when known. */
  line: Schema.NullOr(Schema.Number),
  detail: Schema.String,
}) {
  override get message(): string {
    const where = this.line === null ? this.file : `${this.file}:${this.line}`
    const key = this.keyPath === "" ? "" : ` at ${this.keyPath}`
    return `invalid config ${where}${key}: ${this.detail}`
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

function lineOf(
  doc: YAML.Document,
  counter: YAML.LineCounter,
  keyPath: ReadonlyArray<PropertyKey>,
) {
  // Walk up until a node exists: a missing key is reported at its parent's line.
  for (let n = keyPath.length; n >= 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true)
    if (YAML.isNode(node) && node.range) return counter.linePos(node.range[0]).line
    if (n === 0 && doc.contents?.range) return counter.linePos(doc.contents.range[0]).line
  }
  return null
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
    const parseError = doc.errors[0]
    if (parseError !== undefined) {
      return yield* new ConfigError({
        file: source,
        keyPath: "",
        line: counter.linePos(parseError.pos[0]).line,
        detail: parseError.message.split("\n")[0] ?? parseError.message,
      })
    }
    const raw = doc.toJS() ?? {}
    if (typeof raw !== "object" || Array.isArray(raw)) {
      return yield* new ConfigError({
        file: source,
        keyPath: "",
        line: 1,
        detail: "the config must be a YAML mapping",
      })
    }
    const data = yield* decode(raw, { onExcessProperty: "error", errors: "first" }).pipe(
      Effect.mapError((error) => {
        const issue = formatter(error.issue).issues[0]
        const keyPath: ReadonlyArray<PropertyKey> = (issue?.path ?? []).map((p) =>
          typeof p === "object" && p !== null && "key" in p ? p.key : p
        )
        return new ConfigError({
          file: source,
          keyPath: keyPath.map(String).join("."),
          line: lineOf(doc, counter, keyPath),
          detail: withLines(
            withActual(issue?.message ?? error.message, doc.getIn(keyPath)),
            doc,
            counter,
          ),
        })
      }),
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
        return yield* new ConfigError({
          file: source,
          keyPath: "keystore.passphrase_file",
          line: lineOf(doc, counter, ["keystore", "passphrase_file"]),
          detail: `cannot read passphrase file ${file}`,
        })
      }
      passphrase = content.split(/\r?\n/)[0] ?? ""
    }
    passphrase ??= resolve.env(data.keystore.passphrase_env)
    return {
      ...data,
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
            new ConfigError({
              file,
              keyPath: "",
              line: null,
              detail: cause instanceof Deno.errors.NotFound ? "file not found" : String(cause),
            }),
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
