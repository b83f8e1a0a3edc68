/**
 * The two bundle manifests as Effect Schemas: `happ.yaml` (AppManifest v0, conductor-api.md
 * §7.2) and `dna.yaml` (DnaManifest v0, §7.3), with Holochain's field names, defaults and rules
 * (unknown keys rejected, role names without ".", zome names unique, dependencies naming another
 * integrity zome, at most one dependency, provisioning strategies with their required keys).
 *
 * Both forms load through the same schemas: YAML text (errors name the file, key path and line)
 * and the msgpack map inside packed bundles (`Option` fields written as nil, missing accepted).
 * `properties` values are turned into their exact msgpack bytes before decoding, so a decoded
 * manifest carries `Uint8Array | null` there. Resource ids (§7.1) are derived here too.
 *
 * This module does not read files, touch bundles or hash anything: see `bundle.ts`, `pack.ts`
 * and `dna_def.ts`.
 *
 * @module
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import * as YAML from "yaml"
import { decodeHashB64 } from "../hash/mod.ts"
import { type BundleError, bundleError, ManifestInvalid } from "./errors.ts"
import { decodeOrdered, Msg, msgGetIn, msgToJs, type MsgValue } from "./ordered_msgpack.ts"
import { canonicalProperties, parseYaml, yamlNodeToMsg } from "./properties.ts"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** An `Option<T>` field: `null` when missing or nil. */
const optional = <S extends Schema.Top>(schema: S) => withDefault(Schema.NullOr(schema), null)

const hashB64 = (type: "wasm" | "dna", prefix: string) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => decodeHashB64(s, type) !== undefined, {
      message: `must be a ${type} hash in its "u…" string form (${prefix}…, 53 characters)`,
    }),
  )

/** A `WasmHashB64` string (`uhCok…`). */
export const WasmHashB64 = hashB64("wasm", "uhCok")

/** A `DnaHashB64` string (`uhC0k…`). */
export const DnaHashB64 = hashB64("dna", "uhC0k")

/** `manifest_version`: only `"0"` (a string; quote it in YAML). */
export const ManifestVersion = Schema.Literal("0").annotate({
  message: `manifest_version must be the string "0"`,
})

/**
 * DNA properties as msgpack bytes (`c0` for YAML null). Manifest loaders convert the YAML or
 * msgpack value to bytes before decoding, keeping map order and the int/float distinction.
 */
export const Properties = Schema.Uint8Array

/** `u32`. */
const U32 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff }))

// ---------------------------------------------------------------------------------------------
// dna.yaml

/** `{name}` of the integrity zome a zome depends on. */
export const ZomeDependency = Schema.Struct({ name: Schema.String })
export type ZomeDependency = typeof ZomeDependency.Type

/** One zome of a DNA. `path` is relative to dna.yaml (or, inside a `.dna`, a resource id). */
export const ZomeManifest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1)),
  hash: optional(WasmHashB64),
  path: Schema.String,
  dependencies: optional(Schema.Array(ZomeDependency)),
})
export type ZomeManifest = typeof ZomeManifest.Type

/** The part of a DNA that determines its hash. */
export const IntegrityManifest = Schema.Struct({
  /** `null` means `""`. */
  network_seed: optional(Schema.String),
  /** `null` means YAML null (`c0`). */
  properties: optional(Properties),
  /** Order matters: it is the zome index. */
  zomes: Schema.Array(ZomeManifest),
})
export type IntegrityManifest = typeof IntegrityManifest.Type

/** Coordinator zomes; they do not affect the DNA hash. */
export const CoordinatorManifest = Schema.Struct({ zomes: Schema.Array(ZomeManifest) })
export type CoordinatorManifest = typeof CoordinatorManifest.Type

type ZomeLists = {
  readonly integrity: { readonly zomes: ReadonlyArray<ZomeManifest> }
  readonly coordinator: { readonly zomes: ReadonlyArray<ZomeManifest> }
}

function checkZomes(m: ZomeLists): Schema.FilterOutput {
  const integrityNames = new Set(m.integrity.zomes.map((z) => z.name))
  const seen = new Set<string>()
  for (const list of ["integrity", "coordinator"] as const) {
    for (const [i, zome] of m[list].zomes.entries()) {
      const at = [list, "zomes", i]
      if (seen.has(zome.name)) {
        return { path: [...at, "name"], issue: `duplicate zome name "${zome.name}"` }
      }
      seen.add(zome.name)
      const deps = zome.dependencies ?? []
      if (deps.length > 1) {
        return { path: [...at, "dependencies"], issue: "a zome may have at most one dependency" }
      }
      for (const [j, dep] of deps.entries()) {
        if (dep.name === zome.name) {
          return {
            path: [...at, "dependencies", j, "name"],
            issue: "a zome cannot depend on itself",
          }
        }
        if (!integrityNames.has(dep.name)) {
          return {
            path: [...at, "dependencies", j, "name"],
            issue: `dependency "${dep.name}" is not an integrity zome of this DNA`,
          }
        }
      }
    }
  }
  return undefined
}

/** `dna.yaml`, DnaManifest v0. */
export const DnaManifest = Schema.Struct({
  manifest_version: ManifestVersion,
  name: Schema.String,
  integrity: IntegrityManifest,
  coordinator: withDefault(CoordinatorManifest, { zomes: [] }),
}).check(Schema.makeFilter(checkZomes))
export type DnaManifest = typeof DnaManifest.Type

// ---------------------------------------------------------------------------------------------
// happ.yaml

/** How a role's cell is provisioned. Absent means `{strategy: create, deferred: false}`. */
export const CellProvisioning = Schema.Union([
  Schema.Struct({ strategy: Schema.Literal("create"), deferred: Schema.Boolean }),
  Schema.Struct({ strategy: Schema.Literal("clone_only") }),
  /** Deprecated in Holochain; kept so existing manifests load. */
  Schema.Struct({ strategy: Schema.Literal("use_existing"), protected: Schema.Boolean }),
]).annotate({
  message:
    "provisioning must be {strategy: create, deferred: <bool>}, {strategy: clone_only} or {strategy: use_existing, protected: <bool>}",
})
export type CellProvisioning = typeof CellProvisioning.Type

/** Optional modifier overrides; a non-null value replaces the lower layer wholesale. */
export const DnaModifiersOpt = Schema.Struct({
  network_seed: optional(Schema.String),
  properties: optional(Properties),
})
export type DnaModifiersOpt = typeof DnaModifiersOpt.Type

/** The DNA of a role. */
export const AppRoleDnaManifest = Schema.Struct({
  /** Relative to happ.yaml (or, inside a `.happ`, a resource id). Required unless use_existing. */
  path: optional(Schema.String),
  modifiers: withDefault(DnaModifiersOpt, {}),
  /** Required for use_existing. */
  installed_hash: optional(DnaHashB64),
  clone_limit: withDefault(U32, 0),
})
export type AppRoleDnaManifest = typeof AppRoleDnaManifest.Type

/** A role name: non-empty, no "." (clone ids are `role.N`). */
export const RoleName = Schema.String.check(
  Schema.makeFilter((s: string) => s.length > 0 && !s.includes("."), {
    message: `role names must be non-empty and must not contain "."`,
  }),
)

/** One role of an app. */
export const AppRoleManifest = Schema.Struct({
  name: RoleName,
  provisioning: optional(CellProvisioning),
  dna: AppRoleDnaManifest,
})
export type AppRoleManifest = typeof AppRoleManifest.Type

function checkRoles(m: { readonly roles: ReadonlyArray<AppRoleManifest> }): Schema.FilterOutput {
  const seen = new Set<string>()
  for (const [i, role] of m.roles.entries()) {
    if (seen.has(role.name)) {
      return { path: ["roles", i, "name"], issue: `duplicate role name "${role.name}"` }
    }
    seen.add(role.name)
    const strategy = provisioningOf(role).strategy
    if (strategy === "use_existing") {
      if (role.dna.installed_hash === null) {
        return {
          path: ["roles", i, "dna", "installed_hash"],
          issue: "use_existing needs dna.installed_hash",
        }
      }
    } else if (role.dna.path === null) {
      return { path: ["roles", i, "dna", "path"], issue: `${strategy} needs dna.path` }
    }
  }
  return undefined
}

/** `happ.yaml`, AppManifest v0. */
export const AppManifest = Schema.Struct({
  manifest_version: ManifestVersion,
  /** Default installed_app_id. */
  name: Schema.String,
  description: optional(Schema.String),
  roles: Schema.Array(AppRoleManifest),
  allow_deferred_memproofs: withDefault(Schema.Boolean, false),
  bootstrap_url: optional(Schema.String),
  relay_url: optional(Schema.String),
}).check(Schema.makeFilter(checkRoles))
export type AppManifest = typeof AppManifest.Type

/** A role's provisioning with the default applied. */
export function provisioningOf(role: Pick<AppRoleManifest, "provisioning">): CellProvisioning {
  return role.provisioning ?? { strategy: "create", deferred: false }
}

// ---------------------------------------------------------------------------------------------
// Resource ids (§7.1)

/**
 * The file-name component of a manifest path (Holochain's `resource_id_for_path`): `./a.dna` →
 * `a.dna`, `dnas/dna1/a dna.dna` → `a dna.dna`. `undefined` when there is none (`..`, `/`, empty).
 */
export function resourceIdForPath(path: string): string | undefined {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".")
  const last = parts.at(-1)
  return last === undefined || last === ".." ? undefined : last
}

/** A zome's resource id: its path's file name, else `<zome name>.wasm`. */
export function zomeResourceId(zome: Pick<ZomeManifest, "name" | "path">): string {
  return resourceIdForPath(zome.path) ?? `${zome.name}.wasm`
}

/**
 * A role's resource id: its `dna.path`'s file name, else `<role name>.dna` (our fallback for a
 * path without a file name); `undefined` when the role has no path (use_existing).
 */
export function roleResourceId(role: Pick<AppRoleManifest, "name" | "dna">): string | undefined {
  if (role.dna.path === null) return undefined
  return resourceIdForPath(role.dna.path) ?? `${role.name}.dna`
}

// ---------------------------------------------------------------------------------------------
// Loading

type KeyPath = ReadonlyArray<string | number>
type ManifestSchema = typeof DnaManifest | typeof AppManifest

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array)
}

/** Where properties sit in a raw manifest of either kind (only where they are non-null). */
function propertiesPaths(raw: Record<string, unknown>): ReadonlyArray<KeyPath> {
  const out: Array<KeyPath> = []
  const integrity = raw["integrity"]
  if (
    isRecord(integrity) && integrity["properties"] !== undefined && integrity["properties"] !== null
  ) {
    out.push(["integrity", "properties"])
  }
  const roles = raw["roles"]
  if (Array.isArray(roles)) {
    for (const [i, role] of roles.entries()) {
      const dna: unknown = isRecord(role) ? role["dna"] : undefined
      const modifiers: unknown = isRecord(dna) ? dna["modifiers"] : undefined
      if (
        isRecord(modifiers) && modifiers["properties"] !== undefined &&
        modifiers["properties"] !== null
      ) {
        out.push(["roles", i, "dna", "modifiers", "properties"])
      }
    }
  }
  return out
}

function setIn(root: Record<string, unknown>, path: KeyPath, value: unknown): void {
  let target: unknown = root
  for (const step of path.slice(0, -1)) {
    target = Array.isArray(target)
      ? target[step as number]
      : (target as Record<string, unknown>)[step]
  }
  const last = path.at(-1)!
  if (Array.isArray(target)) target[last as number] = value
  else (target as Record<string, unknown>)[last] = value
}

function lineOf(doc: YAML.Document, counter: YAML.LineCounter, keyPath: ReadonlyArray<unknown>) {
  // Walk up until a node exists: a missing key is reported at its parent's line.
  for (let n = keyPath.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keyPath.slice(0, n), true)
    if (YAML.isNode(node) && node.range) return counter.linePos(node.range[0]).line
  }
  return null
}

/**
 * The 1-based line of the value at `keyPath` in YAML text (or of its nearest existing parent);
 * null when the text does not parse. For errors found after loading, e.g. while packing.
 */
export function lineInYaml(text: string, keyPath: ReadonlyArray<string | number>): number | null {
  const counter = new YAML.LineCounter()
  const doc = YAML.parseDocument(text, { lineCounter: counter, prettyErrors: false })
  return doc.errors.length > 0 ? null : lineOf(doc, counter, keyPath)
}

const decodeWith = <S extends ManifestSchema>(
  schema: S,
  raw: unknown,
  file: string,
  lineFor: (keyPath: ReadonlyArray<PropertyKey>) => number | null,
) =>
  Schema.decodeUnknownEffect(schema)(raw, { onExcessProperty: "error", errors: "first" }).pipe(
    Effect.mapError((error) => {
      const issue = formatter(error.issue).issues[0]
      const keyPath: ReadonlyArray<PropertyKey> = (issue?.path ?? []).map((p) =>
        typeof p === "object" && p !== null && "key" in p ? p.key : p
      )
      const detail = issue?.message ?? error.message
      const last = keyPath.at(-1)
      return bundleError(
        new ManifestInvalid({
          file,
          keyPath: keyPath.map(String).join("."),
          line: lineFor(keyPath),
          detail: detail === "Missing key" && last !== undefined
            ? `missing key "${String(last)}"`
            : detail,
        }),
      )
    }),
  )

const loadYaml = Effect.fn("Bundle.loadManifestYaml")(function* <S extends ManifestSchema>(
  schema: S,
  text: string,
  file: string,
) {
  const { doc, counter, invalid, fault } = yield* parseYaml(text, file)
  const raw: unknown = yield* Effect.try({
    try: () =>
      doc.toJS({
        maxAliasCount: 100,
        reviver: (_key: unknown, value: unknown) =>
          typeof value === "bigint" ? Number(value) : value,
      }),
    catch: fault,
  })
  if (!isRecord(raw)) return yield* invalid("", 1, "the manifest must be a YAML mapping")
  for (const path of propertiesPaths(raw)) {
    const converted = yield* Effect.try({
      try: () => yamlNodeToMsg(doc.getIn(path, true), doc),
      catch: fault,
    })
    if (Result.isFailure(converted)) {
      const { node, path: sub, detail } = converted.failure
      const full = [...path, ...sub]
      const line = node?.range ? counter.linePos(node.range[0]).line : lineOf(doc, counter, full)
      return yield* invalid(full.join("."), line, detail)
    }
    const bytes = canonicalProperties(converted.success)
    if (Result.isFailure(bytes)) {
      return yield* invalid(path.join("."), lineOf(doc, counter, path), bytes.failure)
    }
    setIn(raw, path, bytes.success)
  }
  return yield* decodeWith(schema, raw, file, (keyPath) => lineOf(doc, counter, keyPath))
})

/** Where non-nil properties sit in a msgpack manifest of either kind. */
function msgPropertiesPaths(value: MsgValue): ReadonlyArray<KeyPath> {
  const present = (path: KeyPath) => {
    const found = msgGetIn(value, path)
    return found !== undefined && found.type !== "nil"
  }
  const out: Array<KeyPath> = []
  if (present(["integrity", "properties"])) out.push(["integrity", "properties"])
  const roles = msgGetIn(value, ["roles"])
  if (roles?.type === "array") {
    for (let i = 0; i < roles.items.length; i++) {
      const path = ["roles", i, "dna", "modifiers", "properties"]
      if (present(path)) out.push(path)
    }
  }
  return out
}

const loadMsg = Effect.fn("Bundle.loadManifestMsg")(function* <S extends ManifestSchema>(
  schema: S,
  value: MsgValue,
  file: string,
) {
  const invalid = (keyPath: string, detail: string) =>
    bundleError(new ManifestInvalid({ file, keyPath, line: null, detail }))
  // Properties may hold anything a YAML value can (non-string keys too): convert them to bytes
  // first and let the JS conversion of the rest of the manifest skip them.
  const replacements = new Map<string, Uint8Array>()
  for (const path of msgPropertiesPaths(value)) {
    const bytes = canonicalProperties(msgGetIn(value, path)!)
    if (Result.isFailure(bytes)) return yield* invalid(path.join("."), bytes.failure)
    replacements.set(path.join("."), bytes.success)
  }
  const raw = yield* Effect.try({
    try: () => msgToJs(value, replacements),
    catch: (cause) => invalid("", cause instanceof Error ? cause.message : String(cause)),
  })
  if (!isRecord(raw)) return yield* invalid("", "the manifest must be a map")
  return yield* decodeWith(schema, raw, file, () => null)
})

/** Loads `dna.yaml` text; `file` names it in errors. */
export function loadDnaManifestYaml(
  text: string,
  file: string,
): Effect.Effect<DnaManifest, BundleError> {
  return loadYaml(DnaManifest, text, file)
}

/** Loads `happ.yaml` text; `file` names it in errors. */
export function loadAppManifestYaml(
  text: string,
  file: string,
): Effect.Effect<AppManifest, BundleError> {
  return loadYaml(AppManifest, text, file)
}

/** Decodes the msgpack manifest of a packed `.dna`. */
export function decodeDnaManifestMsg(
  value: MsgValue,
  file: string,
): Effect.Effect<DnaManifest, BundleError> {
  return loadMsg(DnaManifest, value, file)
}

/** Decodes the msgpack manifest of a packed `.happ`. */
export function decodeAppManifestMsg(
  value: MsgValue,
  file: string,
): Effect.Effect<AppManifest, BundleError> {
  return loadMsg(AppManifest, value, file)
}

// ---------------------------------------------------------------------------------------------
// Writing the msgpack form (inside bundles and in AppInfo)

function propertiesMsg(bytes: Uint8Array | null): MsgValue {
  return bytes === null ? Msg.nil : decodeOrdered(bytes)
}

function zomeMsg(zome: ZomeManifest): MsgValue {
  return Msg.record([
    ["name", Msg.str(zome.name)],
    ["hash", Msg.strOrNil(zome.hash)],
    ["path", Msg.str(zome.path)],
    [
      "dependencies",
      zome.dependencies === null
        ? Msg.nil
        : Msg.array(zome.dependencies.map((d) => Msg.record([["name", Msg.str(d.name)]]))),
    ],
  ])
}

/**
 * The msgpack form of a DNA manifest, every `Option` present (nil when empty), in Holochain's
 * field order. Throws `RangeError` if `properties` are not valid msgpack bytes.
 */
export function dnaManifestToMsg(manifest: DnaManifest): MsgValue {
  return Msg.record([
    ["manifest_version", Msg.str("0")],
    ["name", Msg.str(manifest.name)],
    [
      "integrity",
      Msg.record([
        ["network_seed", Msg.strOrNil(manifest.integrity.network_seed)],
        ["properties", propertiesMsg(manifest.integrity.properties)],
        ["zomes", Msg.array(manifest.integrity.zomes.map(zomeMsg))],
      ]),
    ],
    ["coordinator", Msg.record([["zomes", Msg.array(manifest.coordinator.zomes.map(zomeMsg))]])],
  ])
}

function provisioningMsg(p: CellProvisioning | null): MsgValue {
  if (p === null) return Msg.nil
  switch (p.strategy) {
    case "create":
      return Msg.record([["strategy", Msg.str("create")], ["deferred", Msg.bool(p.deferred)]])
    case "clone_only":
      return Msg.record([["strategy", Msg.str("clone_only")]])
    case "use_existing":
      return Msg.record([["strategy", Msg.str("use_existing")], [
        "protected",
        Msg.bool(p.protected),
      ]])
  }
}

/**
 * The msgpack form of an app manifest, every `Option` present (nil when empty). Throws
 * `RangeError` if some role's `properties` are not valid msgpack bytes.
 */
export function appManifestToMsg(manifest: AppManifest): MsgValue {
  return Msg.record([
    ["manifest_version", Msg.str("0")],
    ["name", Msg.str(manifest.name)],
    ["description", Msg.strOrNil(manifest.description)],
    [
      "roles",
      Msg.array(manifest.roles.map((role) =>
        Msg.record([
          ["name", Msg.str(role.name)],
          ["provisioning", provisioningMsg(role.provisioning)],
          [
            "dna",
            Msg.record([
              ["path", Msg.strOrNil(role.dna.path)],
              [
                "modifiers",
                Msg.record([
                  ["network_seed", Msg.strOrNil(role.dna.modifiers.network_seed)],
                  ["properties", propertiesMsg(role.dna.modifiers.properties)],
                ]),
              ],
              ["installed_hash", Msg.strOrNil(role.dna.installed_hash)],
              ["clone_limit", Msg.int(role.dna.clone_limit)],
            ]),
          ],
        ])
      )),
    ],
    ["allow_deferred_memproofs", Msg.bool(manifest.allow_deferred_memproofs)],
    ["bootstrap_url", Msg.strOrNil(manifest.bootstrap_url)],
    ["relay_url", Msg.strOrNil(manifest.relay_url)],
  ])
}
