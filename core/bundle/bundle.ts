/**
 * The `.dna` / `.happ` container (conductor-api.md §7.1): gzip of the msgpack map
 * `{manifest, resources: {id: bin}}`, resources sorted by key. A `.dna` holds raw wasm per zome;
 * a `.happ` holds one packed `.dna` per role.
 *
 * Unpacking treats the bytes as hostile: the decompressed size is capped (the nested `.dna`
 * files of a `.happ` share the same budget), gzip is parsed strictly (one member, CRC and size
 * checked, nothing after it), msgpack is decoded with bounded depth and no trailing bytes, and
 * the manifest, the resources and the wasm headers are validated. Every failure is a
 * `BundleError`; nothing else escapes.
 *
 * It owns the container only. It does not read or write files (`pack.ts`), hash wasm or DNAs
 * (`dna_def.ts`), or interpret roles for installation (`app_bundle.ts`).
 *
 * @module
 */
import { Effect } from "effect"
import {
  BundleCorrupt,
  bundleError,
  BundleTooLarge,
  ResourceMissing,
  ResourceUnused,
  WasmInvalid,
} from "./errors.ts"
import {
  type AppManifest,
  appManifestToMsg,
  decodeAppManifestMsg,
  decodeDnaManifestMsg,
  type DnaManifest,
  dnaManifestToMsg,
  roleResourceId,
  zomeResourceId,
} from "./manifest.ts"
import { inflateGzip } from "./inflate.ts"
import { decodeOrdered, encodeOrdered, Msg, type MsgValue } from "./ordered_msgpack.ts"

/** Default cap on decompressed bytes per unpack (the nested `.dna` files of a `.happ` included). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024

/** Options of `unpackDna` / `unpackHapp`. */
export interface UnpackOptions {
  /**
   * Names the bytes in error messages (a file path, or an upload).
   * @default "<bytes>"
   */
  readonly source?: string
  /**
   * Cap on the total decompressed size, in bytes.
   * @default DEFAULT_MAX_DECOMPRESSED_BYTES (256 MiB)
   */
  readonly maxDecompressedBytes?: number
}

/** Options of `packDna` / `packHapp`. */
export interface PackBundleOptions {
  /**
   * Names the bundle in error messages.
   * @default "<new bundle>"
   */
  readonly source?: string
}

/** A `.dna`: its manifest (zome paths are resource ids) and the wasm of each resource id. */
export interface DnaBundle {
  readonly manifest: DnaManifest
  readonly resources: ReadonlyMap<string, Uint8Array>
}

/** What `packHapp` needs: the manifest and the packed `.dna` bytes of each resource id. */
export interface AppBundleInput {
  readonly manifest: AppManifest
  readonly resources: ReadonlyMap<string, Uint8Array>
}

/** A `.happ`: manifest (role `dna.path` are resource ids), packed `.dna` bytes, and each unpacked. */
export interface AppBundle extends AppBundleInput {
  /** The unpacked DNA of each resource id. */
  readonly dnas: ReadonlyMap<string, DnaBundle>
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const

/** Why `bytes` is not a wasm module, or `undefined` when it starts with the `\0asm` header. */
export function wasmHeaderProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8) {
    return `only ${bytes.length} bytes; a wasm module has at least the 8-byte header`
  }
  if (WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ")
    return `missing the \\0asm magic (found ${found})`
  }
  return undefined
}

/** Byte-wise UTF-8 order, as Rust's `BTreeMap<String, _>` sorts resource ids. */
export function compareResourceIds(a: string, b: string): number {
  const encoder = new TextEncoder()
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}

// ---------------------------------------------------------------------------------------------
// gzip

const FHCRC = 0x02
const FEXTRA = 0x04
const FNAME = 0x08
const FCOMMENT = 0x10

function gzipHeaderLength(bytes: Uint8Array): number | string {
  if (bytes.length < 18) return `only ${bytes.length} bytes, too short for gzip`
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    const found = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join(" ")
    return `not gzip data (expected magic 1f 8b, found ${found})`
  }
  if (bytes[2] !== 8) return `unsupported gzip compression method ${bytes[2]}`
  const flags = bytes[3]!
  if ((flags & 0xe0) !== 0) return "reserved gzip header flags are set"
  let pos = 10
  if (flags & FEXTRA) {
    if (pos + 2 > bytes.length) return "truncated gzip header"
    pos += 2 + (bytes[pos]! | (bytes[pos + 1]! << 8))
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      while (pos < bytes.length && bytes[pos] !== 0) pos++
      pos++
    }
  }
  if (flags & FHCRC) pos += 2
  return pos > bytes.length ? "truncated gzip header" : pos
}

/**
 * Decompresses exactly one gzip member with a cap on the output, off the event loop's critical
 * path (inflate.ts): the header is parsed strictly here, the runtime checks the trailer (CRC-32
 * and size) and that nothing follows the member.
 */
const gunzip = Effect.fn("Bundle.gunzip")(
  function* (bytes: Uint8Array, file: string, limit: number) {
    const corrupt = (detail: string) => bundleError(new BundleCorrupt({ file, detail }))
    const header = gzipHeaderLength(bytes)
    if (typeof header === "string") return yield* corrupt(header)
    if (header + 8 > bytes.length) return yield* corrupt("truncated gzip trailer")
    // A spent budget is already too large.
    if (!(limit >= 1)) {
      return yield* bundleError(new BundleTooLarge({ file, limit: Math.max(0, limit) }))
    }
    // Interrupting the caller (a closed connection, a shutdown) stops the inflation too.
    const result = yield* Effect.promise((signal) => inflateGzip(bytes, limit, signal))
    if (result._tag === "TooLarge") return yield* bundleError(new BundleTooLarge({ file, limit }))
    if (result._tag === "Corrupt") return yield* corrupt(corruptDetail(result, bytes))
    return result.output
  },
)

/** The runtime's reason for refusing a gzip stream, in this module's words. */
function corruptDetail(
  result: { readonly detail: string; readonly output: Uint8Array },
  bytes: Uint8Array,
): string {
  if (result.detail.includes("failed to write whole buffer")) {
    return "trailing data after the gzip stream (a second member or other bytes)"
  }
  if (result.detail.includes("checksum")) {
    // The runtime checks CRC-32 and size together; the size says which one it was.
    const size = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4)
    return size.getUint32(0, true) === result.output.length % 2 ** 32
      ? "gzip CRC-32 mismatch"
      : "gzip size mismatch or truncated stream"
  }
  return `bad gzip data: ${result.detail}`
}

// ---------------------------------------------------------------------------------------------
// container

interface RawContainer {
  readonly manifest: MsgValue
  readonly resources: ReadonlyMap<string, Uint8Array>
}

const decodeContainer = Effect.fn("Bundle.decodeContainer")(
  function* (raw: Uint8Array, file: string) {
    const corrupt = (detail: string) => bundleError(new BundleCorrupt({ file, detail }))
    const top = yield* Effect.try({
      try: () => decodeOrdered(raw),
      catch: (cause) =>
        corrupt(`not a msgpack bundle: ${cause instanceof Error ? cause.message : String(cause)}`),
    })
    if (top.type !== "map") {
      return yield* corrupt(`expected a map {manifest, resources}, found ${top.type}`)
    }
    let manifest: MsgValue | undefined
    let resourcesValue: MsgValue | undefined
    for (const [key, value] of top.entries) {
      if (key.type !== "str") return yield* corrupt(`unexpected ${key.type} key at the top level`)
      if (key.value === "manifest" && manifest === undefined) manifest = value
      else if (key.value === "resources" && resourcesValue === undefined) resourcesValue = value
      else return yield* corrupt(`unexpected or repeated top-level key "${key.value}"`)
    }
    if (manifest === undefined) return yield* corrupt(`missing top-level key "manifest"`)
    if (resourcesValue === undefined) return yield* corrupt(`missing top-level key "resources"`)
    if (resourcesValue.type !== "map") {
      return yield* corrupt(`"resources" must be a map, found ${resourcesValue.type}`)
    }
    const resources = new Map<string, Uint8Array>()
    for (const [key, value] of resourcesValue.entries) {
      if (key.type !== "str") {
        return yield* corrupt(`resource ids must be strings, found ${key.type}`)
      }
      if (resources.has(key.value)) return yield* corrupt(`resource "${key.value}" appears twice`)
      if (value.type !== "bin") {
        return yield* corrupt(
          `resource "${key.value}" must be binary, found ${value.type}`,
        )
      }
      resources.set(key.value, value.value)
    }
    return { manifest, resources } satisfies RawContainer
  },
)

/**
 * The gzip of the container. `node:zlib` (the same bytes as before)
 * is loaded on the first pack only: a conductor that only runs never pays for it at start-up.
 */
const encodeContainer = (manifest: MsgValue, resources: ReadonlyMap<string, Uint8Array>) =>
  Effect.map(Effect.promise(() => import("node:zlib")), (zlib) => {
    const entries = [...resources.entries()].sort(([a], [b]) => compareResourceIds(a, b))
    const container = Msg.record([
      ["manifest", manifest],
      ["resources", Msg.map(entries.map(([id, bytes]) => [Msg.str(id), Msg.bin(bytes)] as const))],
    ])
    // A plain copy: zlib hands out Node Buffers, possibly views into a shared pool.
    return new Uint8Array(zlib.gzipSync(encodeOrdered(container)))
  })

/** Checks that the resources are exactly the ones the manifest names (order: missing, unused). */
const checkResourceSet = Effect.fn("Bundle.checkResourceSet")(function* (
  file: string,
  named: ReadonlyArray<string>,
  resources: ReadonlyMap<string, Uint8Array>,
) {
  const wanted = new Set(named)
  for (const id of wanted) {
    if (!resources.has(id)) return yield* bundleError(new ResourceMissing({ file, resource: id }))
  }
  for (const id of resources.keys()) {
    if (!wanted.has(id)) return yield* bundleError(new ResourceUnused({ file, resource: id }))
  }
})

const checkDnaResources = Effect.fn("Bundle.checkDnaResources")(function* (
  file: string,
  manifest: DnaManifest,
  resources: ReadonlyMap<string, Uint8Array>,
) {
  const zomes = [...manifest.integrity.zomes, ...manifest.coordinator.zomes]
  yield* checkResourceSet(file, zomes.map(zomeResourceId), resources)
  for (const zome of zomes) {
    const resource = zomeResourceId(zome)
    const problem = wasmHeaderProblem(resources.get(resource)!)
    if (problem !== undefined) {
      return yield* bundleError(
        new WasmInvalid({ file, zome: zome.name, resource, detail: problem }),
      )
    }
  }
})

/** The manifest with every zome path replaced by its resource id. */
function dnaManifestWithIds(manifest: DnaManifest): DnaManifest {
  const withId = <Z extends DnaManifest["integrity"]["zomes"][number]>(z: Z): Z => ({
    ...z,
    path: zomeResourceId(z),
  })
  return {
    ...manifest,
    integrity: { ...manifest.integrity, zomes: manifest.integrity.zomes.map(withId) },
    coordinator: { ...manifest.coordinator, zomes: manifest.coordinator.zomes.map(withId) },
  }
}

/** The manifest with every role's `dna.path` replaced by its resource id. */
function appManifestWithIds(manifest: AppManifest): AppManifest {
  return {
    ...manifest,
    roles: manifest.roles.map((role) => ({
      ...role,
      dna: { ...role.dna, path: roleResourceId(role) ?? null },
    })),
  }
}

const manifestMsg = <M>(file: string, manifest: M, toMsg: (m: M) => MsgValue) =>
  Effect.try({
    try: () => toMsg(manifest),
    catch: (cause) =>
      bundleError(
        new BundleCorrupt({
          file,
          detail: `properties are not valid msgpack: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
        }),
      ),
  })

const unpackDnaWithin = Effect.fn("Bundle.unpackDnaWithin")(
  function* (bytes: Uint8Array, file: string, limit: number) {
    const raw = yield* gunzip(bytes, file, limit)
    const container = yield* decodeContainer(raw, file)
    const manifest = yield* decodeDnaManifestMsg(container.manifest, `${file} (manifest)`)
    yield* checkDnaResources(file, manifest, container.resources)
    return {
      bundle: { manifest, resources: container.resources } satisfies DnaBundle,
      size: raw.length,
    }
  },
)

/** Unpacks and validates a `.dna`. */
export const unpackDna = Effect.fn("Bundle.unpackDna")(
  function* (bytes: Uint8Array, options: UnpackOptions = {}) {
    const file = options.source ?? "<bytes>"
    const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
    return (yield* unpackDnaWithin(bytes, file, limit)).bundle
  },
)

/** Unpacks and validates a `.happ`, including every `.dna` inside it (one shared size budget). */
export const unpackHapp = Effect.fn("Bundle.unpackHapp")(
  function* (bytes: Uint8Array, options: UnpackOptions = {}) {
    const file = options.source ?? "<bytes>"
    const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
    const raw = yield* gunzip(bytes, file, limit)
    let budget = limit - raw.length
    const container = yield* decodeContainer(raw, file)
    const manifest = yield* decodeAppManifestMsg(container.manifest, `${file} (manifest)`)
    const named = manifest.roles.flatMap((role) => roleResourceId(role) ?? [])
    yield* checkResourceSet(file, named, container.resources)
    const dnas = new Map<string, DnaBundle>()
    for (const [id, dnaBytes] of container.resources) {
      const inner = yield* unpackDnaWithin(dnaBytes, `${file}!${id}`, budget).pipe(
        // A nested bomb is reported against the whole hApp's limit.
        Effect.catchReason(
          "BundleError",
          "BundleTooLarge",
          () => Effect.fail(bundleError(new BundleTooLarge({ file, limit }))),
        ),
      )
      budget -= inner.size
      dnas.set(id, inner.bundle)
    }
    return { manifest, resources: container.resources, dnas } satisfies AppBundle
  },
)

/**
 * Packs a `.dna`. Zome paths are replaced by their resource ids; resources must be exactly the
 * ones the manifest names and each must be wasm.
 */
export const packDna = Effect.fn("Bundle.packDna")(
  function* (bundle: DnaBundle, options: PackBundleOptions = {}) {
    const file = options.source ?? "<new bundle>"
    const manifest = dnaManifestWithIds(bundle.manifest)
    const msg = yield* manifestMsg(file, manifest, dnaManifestToMsg)
    // Decoding what we are about to write re-runs every manifest rule on hand-built manifests.
    yield* decodeDnaManifestMsg(msg, `${file} (manifest)`)
    yield* checkDnaResources(file, manifest, bundle.resources)
    return yield* encodeContainer(msg, bundle.resources)
  },
)

/**
 * Packs a `.happ`. Role `dna.path`s are replaced by their resource ids; resources must be
 * exactly the ones the roles name and each must unpack as a valid `.dna`.
 */
export const packHapp = Effect.fn("Bundle.packHapp")(
  function* (bundle: AppBundleInput, options: PackBundleOptions = {}) {
    const file = options.source ?? "<new bundle>"
    const manifest = appManifestWithIds(bundle.manifest)
    const msg = yield* manifestMsg(file, manifest, appManifestToMsg)
    yield* decodeAppManifestMsg(msg, `${file} (manifest)`)
    yield* checkResourceSet(
      file,
      manifest.roles.flatMap((role) => roleResourceId(role) ?? []),
      bundle.resources,
    )
    for (const [id, dnaBytes] of bundle.resources) {
      yield* unpackDnaWithin(dnaBytes, `${file}!${id}`, DEFAULT_MAX_DECOMPRESSED_BYTES)
    }
    return yield* encodeContainer(msg, bundle.resources)
  },
)
