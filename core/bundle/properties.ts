/**
 * DNA `properties` as the exact MessagePack bytes Holochain hashes into `DnaModifiers`.
 *
 * Holochain reads properties into a `serde_yaml::Value` and re-encodes them with rmp-serde, so
 * the bytes keep the YAML map order, YAML integers stay integers (`1`), YAML floats stay float64
 * (`1.0`), and null or absent properties are `c0`. Going through JS objects would break two of
 * those (integer-like keys reorder, `1.0` turns into `1`), so this module converts from the YAML
 * AST and from the order-preserving msgpack tree instead. It owns that conversion only; where
 * properties live in a manifest and which layer wins is decided in `manifest.ts` and
 * `dna_def.ts`.
 *
 * @module
 */
import { Effect, Result } from "effect"
import * as YAML from "yaml"
import { encode, NIL } from "../codec/mod.ts"
import { type BundleError, bundleError, ManifestInvalid } from "./errors.ts"
import { encodeOrdered, Msg, type MsgValue } from "./ordered_msgpack.ts"

/** Why a YAML node cannot be a property value, and which node it is (for the line number). */
export interface YamlPropertiesProblem {
  readonly node: YAML.Node | null
  /** Key path below the properties root, e.g. `["limits", 0]`. */
  readonly path: ReadonlyArray<string | number>
  readonly detail: string
}

/** Limits on YAML properties, against alias bombs and runaway nesting. */
const MAX_DEPTH = 256
const MAX_NODES = 100_000

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
)
const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)

/**
 * Converts a YAML node (parsed with `intAsBigInt: true`, so integers are bigints and floats are
 * numbers) into the ordered msgpack tree serde_yaml would produce. Aliases are expanded, with a
 * cap on the total number of nodes so an alias bomb fails instead of exhausting memory.
 */
export function yamlNodeToMsg(
  root: unknown,
  doc: YAML.Document,
): Result.Result<MsgValue, YamlPropertiesProblem> {
  let nodes = 0
  const fail = (node: YAML.Node | null, path: ReadonlyArray<string | number>, detail: string) =>
    Result.fail<YamlPropertiesProblem>({ node, path, detail })

  const convert = (
    input: unknown,
    path: ReadonlyArray<string | number>,
    depth: number,
  ): Result.Result<MsgValue, YamlPropertiesProblem> => {
    if (++nodes > MAX_NODES) {
      return fail(null, path, `more than ${MAX_NODES} values (alias expansion?)`)
    }
    if (depth > MAX_DEPTH) return fail(null, path, `nested deeper than ${MAX_DEPTH} levels`)
    if (input === null || input === undefined) return Result.succeed(Msg.nil)
    if (YAML.isAlias(input)) {
      const target = input.resolve(doc)
      if (target === undefined) return fail(input, path, `unresolved alias *${input.source}`)
      return convert(target, path, depth + 1)
    }
    if (!YAML.isNode(input)) return fail(null, path, "not a YAML node")
    if (input.tag !== undefined && !CORE_TAGS.has(input.tag)) {
      return fail(input, path, `YAML tag ${input.tag} is not supported in properties`)
    }
    if (YAML.isScalar(input)) return scalar(input, path)
    if (YAML.isSeq(input)) {
      const items: Array<MsgValue> = []
      for (let i = 0; i < input.items.length; i++) {
        const item = convert(input.items[i], [...path, i], depth + 1)
        if (Result.isFailure(item)) return item
        items.push(item.success)
      }
      return Result.succeed(Msg.array(items))
    }
    if (YAML.isMap(input)) {
      const entries: Array<readonly [MsgValue, MsgValue]> = []
      for (const pair of input.items) {
        const key = convert(pair.key, path, depth + 1)
        if (Result.isFailure(key)) return key
        const step = keyStep(key.success)
        const value = convert(pair.value, [...path, step], depth + 1)
        if (Result.isFailure(value)) return value
        entries.push([key.success, value.success])
      }
      return Result.succeed(Msg.map(entries))
    }
    return fail(input, path, "unsupported YAML node")
  }

  const scalar = (node: YAML.Scalar, path: ReadonlyArray<string | number>) => {
    const v: unknown = node.value
    if (v === null || v === undefined) return Result.succeed(Msg.nil)
    if (typeof v === "boolean") return Result.succeed(Msg.bool(v))
    if (typeof v === "string") return Result.succeed(Msg.str(v))
    if (typeof v === "number") return Result.succeed(Msg.float(v))
    if (typeof v === "bigint") {
      // serde_yaml keeps u64/i64 integers; anything wider becomes an f64.
      return Result.succeed(v >= I64_MIN && v <= U64_MAX ? Msg.int(v) : Msg.float(Number(v)))
    }
    return fail(node, path, `unsupported scalar of type ${typeof v}`)
  }

  return convert(root, [], 0)
}

function keyStep(key: MsgValue): string | number {
  switch (key.type) {
    case "str":
      return key.value
    case "int":
      return Number(key.value)
    default:
      return `<${key.type} key>`
  }
}

/**
 * Re-encodes a msgpack properties tree the way Holochain does after reading it into a
 * `serde_yaml::Value`: canonical integer/string/container headers, every float as float64.
 * Fails on bin values, which a YAML value cannot hold.
 */
export function canonicalProperties(value: MsgValue): Result.Result<Uint8Array, string> {
  const binAt = findBin(value, "")
  if (binAt !== undefined) {
    return Result.fail(
      `binary value at ${binAt === "" ? "the root" : binAt} is not allowed in properties`,
    )
  }
  return Result.succeed(encodeOrdered(value))
}

function findBin(value: MsgValue, path: string): string | undefined {
  switch (value.type) {
    case "bin":
      return path
    case "array":
      for (let i = 0; i < value.items.length; i++) {
        const found = findBin(value.items[i]!, path === "" ? String(i) : `${path}.${i}`)
        if (found !== undefined) return found
      }
      return undefined
    case "map":
      for (const [k, v] of value.entries) {
        const step = String(keyStep(k))
        const found = findBin(k, path) ?? findBin(v, path === "" ? step : `${path}.${step}`)
        if (found !== undefined) return found
      }
      return undefined
    default:
      return undefined
  }
}

/**
 * Properties from a JS value (e.g. `roles_settings[role].modifiers.properties` decoded from an
 * admin request): `null`/`undefined` give `c0`, anything else is msgpack-encoded as is. JS
 * cannot tell `1.0` from `1` and orders integer-like object keys first, so prefer
 * `yamlNodeToMsg`/`canonicalProperties` when the source is YAML or raw msgpack.
 */
export function encodeProperties(value: unknown): Uint8Array {
  return value === null || value === undefined ? Uint8Array.from(NIL) : encode(value)
}

/** A parsed YAML document, with what reports a problem in it as `ManifestInvalid`. */
export interface ParsedYaml {
  readonly doc: YAML.Document
  readonly counter: YAML.LineCounter
  readonly invalid: (keyPath: string, line: number | null, detail: string) => BundleError
  /** Turns a thrown error into `invalid` without a key path or line. */
  readonly fault: (cause: unknown) => BundleError
}

/**
 * Parses YAML with duplicate keys refused and integers kept as bigint (apart from floats, for
 * properties); the first syntax problem fails with the line it is on.
 */
export const parseYaml = (text: string, file: string) =>
  Effect.gen(function* () {
    const invalid = (keyPath: string, line: number | null, detail: string) =>
      bundleError(new ManifestInvalid({ file, keyPath, line, detail }))
    const counter = new YAML.LineCounter()
    const fault = (cause: unknown) =>
      invalid("", null, cause instanceof Error ? cause.message : String(cause))
    const doc = yield* Effect.try({
      try: () =>
        YAML.parseDocument(text, {
          lineCounter: counter,
          prettyErrors: false,
          uniqueKeys: true,
          intAsBigInt: true,
        }),
      catch: fault,
    })
    const problem = doc.errors[0] ?? doc.warnings[0]
    if (problem !== undefined) {
      return yield* invalid(
        "",
        counter.linePos(problem.pos[0]).line,
        problem.message.split("\n")[0] ?? problem.message,
      )
    }
    const parsed: ParsedYaml = { doc, counter, invalid, fault }
    return parsed
  })

/**
 * Properties from YAML text (a `--properties` file, a role-settings file): the same
 * order-preserving conversion as manifests use. Errors are `ManifestInvalid` naming `source`,
 * the key path and the line.
 */
export const propertiesFromYaml = Effect.fn("Bundle.propertiesFromYaml")(function* (
  text: string,
  source = "<properties>",
) {
  const { doc, counter, invalid, fault } = yield* parseYaml(text, source)
  const value = yield* Effect.try({ try: () => yamlNodeToMsg(doc.contents, doc), catch: fault })
  if (Result.isFailure(value)) {
    const { node, path, detail } = value.failure
    return yield* invalid(
      path.join("."),
      node?.range ? counter.linePos(node.range[0]).line : null,
      detail,
    )
  }
  const bytes = canonicalProperties(value.success)
  if (Result.isFailure(bytes)) return yield* invalid("", null, bytes.failure)
  return bytes.success
})
