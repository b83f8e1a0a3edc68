/**
 * Packing a folder into a bundle, for the CLI: `packDirectory(dir)` builds a `.happ` when the
 * folder has `happ.yaml`, else a `.dna` when it has `dna.yaml`, and writes it.
 *
 * Paths in a manifest are relative to that manifest's folder. Zome `path`s in dna.yaml point to
 * built `.wasm` files (a zome with `hash:` must match). A role's `dna.path` in happ.yaml may
 * point to a packed `.dna` file, to a `dna.yaml`, or to a folder holding a `dna.yaml`; the last
 * two are our extension: that DNA is packed on the fly and embedded under the resource id
 * `<dna name>.dna`. Two zomes (or roles) may share a resource id only if the bytes are equal.
 *
 * It owns file access for packing. The container format is `bundle.ts`; hashing is `dna_def.ts`.
 *
 * @module
 */
import { Effect } from "effect"
import * as path from "node:path"
import { bytesEqual, type DnaHash, encodeHashB64 } from "../hash/mod.ts"
import { type DnaBundle, packDna, packHapp, unpackDna } from "./bundle.ts"
import { dnaDefOf, dnaHash, type ResolvedDna, resolveDna, resolveModifiers } from "./dna_def.ts"
import { bundleError, IoFailed, ManifestInvalid, NotFound, ResourceMissing } from "./errors.ts"
import {
  type AppManifest,
  lineInYaml,
  loadAppManifestYaml,
  loadDnaManifestYaml,
  provisioningOf,
  roleResourceId,
  zomeResourceId,
} from "./manifest.ts"

/** Options of `packDirectory`. */
export interface PackOptions {
  /**
   * Where to write the bundle.
   * @default `<dir>/<manifest name>.happ` or `<dir>/<manifest name>.dna`
   */
  readonly outPath?: string
}

/** One DNA of a packed bundle and its hash (dna.yaml modifiers, then the role's). */
export interface PackedDna {
  /** The role, or null when a `.dna` was packed. */
  readonly role: string | null
  /** The DNA's manifest name. */
  readonly name: string
  /** The DNA's resource id inside a `.happ` (its file name for a `.dna`). */
  readonly resourceId: string
  readonly dnaHash: DnaHash
  /** `dnaHash` in its `u…` form, for printing. */
  readonly dnaHashB64: string
}

/** What `packDirectory` wrote. */
export interface PackResult {
  readonly kind: "dna" | "happ"
  /** The file written. */
  readonly path: string
  /** Its bytes. */
  readonly bytes: Uint8Array
  /** One entry per DNA (per role with a DNA for a `.happ`). */
  readonly dnas: ReadonlyArray<PackedDna>
}

// ---------------------------------------------------------------------------------------------
// files

const ioFailure = (file: string, operation: string) => (cause: unknown) =>
  bundleError(
    cause instanceof Deno.errors.NotFound
      ? new NotFound({ path: file, detail: "no such file or folder" })
      : new IoFailed({ path: file, operation, cause }),
  )

const readBytes = (file: string) =>
  Effect.tryPromise({ try: () => Deno.readFile(file), catch: ioFailure(file, "read") })

const readText = (file: string) =>
  Effect.tryPromise({ try: () => Deno.readTextFile(file), catch: ioFailure(file, "read") })

const writeBytes = (file: string, bytes: Uint8Array) =>
  Effect.tryPromise({ try: () => Deno.writeFile(file, bytes), catch: ioFailure(file, "write") })

/** What is at `file`: a file, a folder, or nothing. */
const kindOf = (file: string) =>
  Effect.tryPromise({
    try: () =>
      Deno.stat(file).then((info) => (info.isDirectory ? "folder" as const : "file" as const)),
    catch: ioFailure(file, "stat"),
  }).pipe(Effect.catchReason("BundleError", "NotFound", () => Effect.succeed("none" as const)))

/** A manifest name as a file name: path separators become `_`; empty or dot names use `fallback`. */
function fileSafe(name: string, fallback: string): string {
  const safe = name.replace(/[/\\]/g, "_")
  return safe === "" || safe === "." || safe === ".." ? fallback : safe
}

// ---------------------------------------------------------------------------------------------
// DNA

interface BuiltDna {
  readonly bundle: DnaBundle
  readonly bytes: Uint8Array
  readonly resolved: ResolvedDna
}

/** Reads dna.yaml and its wasm files and packs them (validated, hashes checked). */
const buildDna = Effect.fn("Bundle.buildDna")(function* (manifestPath: string) {
  const text = yield* readText(manifestPath)
  const manifest = yield* loadDnaManifestYaml(text, manifestPath)
  const base = path.dirname(manifestPath)
  const resources = new Map<string, Uint8Array>()
  const owners = new Map<string, string>()
  const lists = [["integrity", manifest.integrity.zomes], [
    "coordinator",
    manifest.coordinator.zomes,
  ]] as const
  for (const [list, zomes] of lists) {
    for (const [i, zome] of zomes.entries()) {
      const id = zomeResourceId(zome)
      const wasm = yield* readBytes(path.resolve(base, zome.path)).pipe(
        Effect.catchReason(
          "BundleError",
          "NotFound",
          () =>
            Effect.fail(
              bundleError(new ResourceMissing({ file: manifestPath, resource: zome.path })),
            ),
        ),
      )
      const previous = resources.get(id)
      if (previous !== undefined && !bytesEqual(previous, wasm)) {
        const keyPath = [list, "zomes", i, "path"]
        return yield* bundleError(
          new ManifestInvalid({
            file: manifestPath,
            keyPath: keyPath.join("."),
            line: lineInYaml(text, keyPath),
            detail: `resource id "${id}" is already used by zome "${
              owners.get(id)
            }" with different bytes; rename one file`,
          }),
        )
      }
      resources.set(id, wasm)
      owners.set(id, zome.name)
    }
  }
  const bundle: DnaBundle = { manifest, resources }
  const bytes = yield* packDna(bundle, { source: manifestPath })
  const resolved = yield* resolveDna(bundle, manifestPath)
  return { bundle, bytes, resolved } satisfies BuiltDna
})

const hashOf = (resolved: ResolvedDna, role?: AppManifest["roles"][number]) =>
  dnaHash(
    dnaDefOf(
      resolved,
      resolveModifiers({
        dna: resolved.defaults,
        role: role?.dna.modifiers,
        strategy: role === undefined ? undefined : provisioningOf(role).strategy,
      }),
    ),
  )

const packDnaFolder = Effect.fn("Bundle.packDnaFolder")(
  function* (manifestPath: string, outPath?: string) {
    const built = yield* buildDna(manifestPath)
    const name = built.bundle.manifest.name
    const fileName = `${fileSafe(name, "bundle")}.dna`
    const out = outPath ?? path.join(path.dirname(manifestPath), fileName)
    yield* writeBytes(out, built.bytes)
    const hash = yield* hashOf(built.resolved)
    return {
      kind: "dna",
      path: out,
      bytes: built.bytes,
      dnas: [{
        role: null,
        name,
        resourceId: path.basename(out),
        dnaHash: hash,
        dnaHashB64: encodeHashB64(hash),
      }],
    } satisfies PackResult
  },
)

// ---------------------------------------------------------------------------------------------
// hApp

interface RoleDna {
  readonly resourceId: string
  readonly bytes: Uint8Array
  readonly resolved: ResolvedDna
}

/** The DNA a role's `dna.path` points to: a packed `.dna`, a dna.yaml, or a folder with one. */
const roleDna = Effect.fn("Bundle.roleDna")(function* (
  happPath: string,
  role: AppManifest["roles"][number],
  dnaPath: string,
) {
  const target = path.resolve(path.dirname(happPath), dnaPath)
  const kind = yield* kindOf(target)
  if (kind === "none") {
    return yield* bundleError(new ResourceMissing({ file: happPath, resource: dnaPath }))
  }
  const manifestPath = kind === "folder"
    ? path.join(target, "dna.yaml")
    : /\.ya?ml$/i.test(target)
    ? target
    : undefined
  if (manifestPath === undefined) {
    const bytes = yield* readBytes(target)
    const bundle = yield* unpackDna(bytes, { source: target })
    const resolved = yield* resolveDna(bundle, target)
    return {
      resourceId: roleResourceId(role) ?? `${role.name}.dna`,
      bytes,
      resolved,
    } satisfies RoleDna
  }
  if ((yield* kindOf(manifestPath)) !== "file") {
    return yield* bundleError(new NotFound({ path: target, detail: "folder has no dna.yaml" }))
  }
  const built = yield* buildDna(manifestPath)
  const resourceId = `${fileSafe(built.bundle.manifest.name, role.name)}.dna`
  return { resourceId, bytes: built.bytes, resolved: built.resolved } satisfies RoleDna
})

const packHappFolder = Effect.fn("Bundle.packHappFolder")(
  function* (happPath: string, outPath?: string) {
    const text = yield* readText(happPath)
    const manifest = yield* loadAppManifestYaml(text, happPath)
    const resources = new Map<string, Uint8Array>()
    const owners = new Map<string, string>()
    const roleDnas = new Map<string, RoleDna>()
    const roles: Array<AppManifest["roles"][number]> = []
    for (const [i, role] of manifest.roles.entries()) {
      if (role.dna.path === null) {
        roles.push(role)
        continue
      }
      const dna = yield* roleDna(happPath, role, role.dna.path)
      const previous = resources.get(dna.resourceId)
      if (previous !== undefined && !bytesEqual(previous, dna.bytes)) {
        const keyPath = ["roles", i, "dna", "path"]
        return yield* bundleError(
          new ManifestInvalid({
            file: happPath,
            keyPath: keyPath.join("."),
            line: lineInYaml(text, keyPath),
            detail: `resource id "${dna.resourceId}" is already used by role "${
              owners.get(dna.resourceId)
            }" with a different DNA`,
          }),
        )
      }
      resources.set(dna.resourceId, dna.bytes)
      owners.set(dna.resourceId, role.name)
      roleDnas.set(role.name, dna)
      roles.push({ ...role, dna: { ...role.dna, path: dna.resourceId } })
    }
    const packed: AppManifest = { ...manifest, roles }
    const bytes = yield* packHapp({ manifest: packed, resources }, { source: happPath })
    const out = outPath ??
      path.join(path.dirname(happPath), `${fileSafe(manifest.name, "bundle")}.happ`)
    yield* writeBytes(out, bytes)
    const dnas: Array<PackedDna> = []
    for (const role of roles) {
      const dna = roleDnas.get(role.name)
      if (dna === undefined) continue
      const hash = yield* hashOf(dna.resolved, role)
      dnas.push({
        role: role.name,
        name: dna.resolved.name,
        resourceId: dna.resourceId,
        dnaHash: hash,
        dnaHashB64: encodeHashB64(hash),
      })
    }
    return { kind: "happ", path: out, bytes, dnas } satisfies PackResult
  },
)

/**
 * Packs the folder `dir` (or the folder of a `happ.yaml` / `dna.yaml` path given directly):
 * `happ.yaml` gives a `.happ`, else `dna.yaml` gives a `.dna`, else `NotFound`. Writes the
 * bundle and returns the path, the bytes and each DNA's hash.
 */
export const packDirectory = Effect.fn("Bundle.packDirectory")(
  function* (dir: string, options: PackOptions = {}) {
    const kind = yield* kindOf(dir)
    if (kind === "none") {
      return yield* bundleError(new NotFound({ path: dir, detail: "no such folder" }))
    }
    const base = path.basename(dir)
    if (kind === "file" && base !== "happ.yaml" && base !== "dna.yaml") {
      return yield* bundleError(
        new NotFound({ path: dir, detail: "expected a folder with happ.yaml or dna.yaml" }),
      )
    }
    const folder = kind === "file" ? path.dirname(dir) : dir
    const happPath = kind === "file"
      ? (base === "happ.yaml" ? dir : undefined)
      : path.join(folder, "happ.yaml")
    if (happPath !== undefined && (yield* kindOf(happPath)) === "file") {
      return yield* packHappFolder(happPath, options.outPath)
    }
    const dnaPath = path.join(folder, "dna.yaml")
    if ((yield* kindOf(dnaPath)) === "file") return yield* packDnaFolder(dnaPath, options.outPath)
    return yield* bundleError(
      new NotFound({ path: folder, detail: "no happ.yaml or dna.yaml in this folder" }),
    )
  },
)
