/**
 * `DnaDef`, the wasm hash and the DNA hash (conductor-api.md §7.4), and the modifier precedence
 * of `install_app` (§2.2).
 *
 * The DNA hash core is BLAKE2b-256 of the msgpack map `{modifiers, integrity_zomes}` (exactly
 * those two keys, in that order); the name and the coordinator zomes are not hashed. A wasm hash
 * is BLAKE2b-256 of the raw wasm. All hashing goes through the `Hasher` service.
 *
 * It owns these definitions only. It does not unpack bundles (`bundle.ts`) or decide which
 * roles get cells (`app_bundle.ts`, the installer).
 *
 * @module
 */
import { Effect } from "effect"
import { encode, NIL } from "../codec/mod.ts"
import { decodeHashB64, encodeHashB64, Hasher, type WasmHash } from "../hash/mod.ts"
import type { DnaBundle } from "./bundle.ts"
import { bundleError, WasmHashMismatch } from "./errors.ts"
import {
  type CellProvisioning,
  type DnaManifest,
  type ZomeManifest,
  zomeResourceId,
} from "./manifest.ts"

/** `WasmZomeDef`: the zome's wasm hash and the integrity zomes it depends on. */
export interface WasmZomeDef {
  readonly "wasm_hash": WasmHash
  readonly dependencies: ReadonlyArray<string>
}

/** `ZomeDef`, externally tagged as in Holochain (`{Wasm: {...}}`). */
export interface ZomeDef {
  readonly Wasm: WasmZomeDef
}

/** The final modifiers of a DNA: `properties` are msgpack bytes (`c0` for null). */
export interface DnaModifiers {
  readonly "network_seed": string
  readonly properties: Uint8Array
}

/** The wire shape of `get_dna_definition`. */
export interface DnaDef {
  readonly name: string
  readonly modifiers: DnaModifiers
  readonly "integrity_zomes": ReadonlyArray<readonly [string, ZomeDef]>
  readonly "coordinator_zomes": ReadonlyArray<readonly [string, ZomeDef]>
}

/** One layer of modifier overrides; a present, non-null field replaces the lower layer's. */
export interface ModifierOverrides {
  readonly "network_seed"?: string | null | undefined
  /** Msgpack bytes (see `encodeProperties` for JS values). */
  readonly properties?: Uint8Array | null | undefined
}

/** The layers of §2.2, lowest first. */
export interface ModifierLayers {
  /** dna.yaml `integrity.network_seed` / `integrity.properties`. */
  readonly dna: ModifierOverrides
  /** happ.yaml role `dna.modifiers`. */
  readonly role?: ModifierOverrides | undefined
  /** The `install_app` payload's `network_seed`; ignored for use_existing roles. */
  readonly installNetworkSeed?: string | null | undefined
  /** `roles_settings[role].modifiers` of the `install_app` payload. */
  readonly roleSettings?: ModifierOverrides | undefined
  /**
   * The role's provisioning strategy.
   * @default "create"
   */
  readonly strategy?: CellProvisioning["strategy"] | undefined
}

/**
 * Applies the modifier layers of §2.2: dna.yaml → happ role `dna.modifiers` → payload
 * `network_seed` (create and clone_only roles only) → `roles_settings[role].modifiers`. A
 * non-null value replaces the lower one wholesale (properties are not merged); what stays null
 * becomes `""` / `c0`.
 */
export function resolveModifiers(layers: ModifierLayers): DnaModifiers {
  const seedFromPayload = (layers.strategy ?? "create") === "use_existing"
    ? undefined
    : layers.installNetworkSeed
  const networkSeed = highest(
    layers.dna.network_seed,
    layers.role?.network_seed,
    seedFromPayload,
    layers.roleSettings?.network_seed,
  )
  const properties = highest(
    layers.dna.properties,
    layers.role?.properties,
    layers.roleSettings?.properties,
  )
  return { network_seed: networkSeed ?? "", properties: properties ?? Uint8Array.from(NIL) }
}

/** The last value that is neither null nor undefined (layers are given lowest first). */
function highest<T>(...values: ReadonlyArray<T | null | undefined>): T | undefined {
  let out: T | undefined
  for (const value of values) if (value !== null && value !== undefined) out = value
  return out
}

/** The dna.yaml layer of a manifest. */
export function dnaManifestModifiers(manifest: DnaManifest): ModifierOverrides {
  return {
    network_seed: manifest.integrity.network_seed,
    properties: manifest.integrity.properties,
  }
}

/** The exact bytes whose BLAKE2b-256 is the DNA hash core. */
export function dnaHashContent(def: Pick<DnaDef, "modifiers" | "integrity_zomes">): Uint8Array {
  return encode({
    modifiers: { network_seed: def.modifiers.network_seed, properties: def.modifiers.properties },
    integrity_zomes: def.integrity_zomes.map(([name, zome]) => [
      name,
      { Wasm: { wasm_hash: zome.Wasm.wasm_hash, dependencies: [...zome.Wasm.dependencies] } },
    ]),
  })
}

/** The DNA hash of a definition (only its modifiers and integrity zomes count). */
export const dnaHash = Effect.fn("Bundle.dnaHash")(
  function* (def: Pick<DnaDef, "modifiers" | "integrity_zomes">) {
    const hasher = yield* Hasher
    return hasher.hashContent("dna", dnaHashContent(def))
  },
)

/** The wasm hash of raw wasm bytes. */
export const wasmHash = Effect.fn("Bundle.wasmHash")(function* (wasm: Uint8Array) {
  const hasher = yield* Hasher
  return hasher.hashContent("wasm", wasm)
})

/** A zome ready to run: its wasm, that wasm's hash, and its dependencies. */
export interface ResolvedZome {
  readonly name: string
  readonly wasm: Uint8Array
  readonly wasmHash: WasmHash
  readonly dependencies: ReadonlyArray<string>
}

/** A DNA's zomes with their wasm and hashes, plus its dna.yaml modifier defaults. */
export interface ResolvedDna {
  readonly name: string
  readonly integrityZomes: ReadonlyArray<ResolvedZome>
  readonly coordinatorZomes: ReadonlyArray<ResolvedZome>
  /** dna.yaml `integrity.network_seed` / `properties` (null when not given). */
  readonly defaults: {
    readonly "network_seed": string | null
    readonly properties: Uint8Array | null
  }
}

/**
 * Hashes every zome of an unpacked DNA (each distinct resource once) and checks each zome's
 * `hash:` against its wasm. `file` names the bundle in a `WasmHashMismatch`.
 */
export const resolveDna = Effect.fn("Bundle.resolveDna")(
  function* (bundle: DnaBundle, file: string) {
    const hashes = new Map<string, WasmHash>()
    const resolve = Effect.fn("Bundle.resolveZome")(function* (zome: ZomeManifest) {
      const id = zomeResourceId(zome)
      // unpackDna/packDna guarantee the resource exists; a caller-built bundle that lies dies here.
      const wasm = bundle.resources.get(id)
      if (wasm === undefined) {
        return yield* Effect.die(new Error(`resource "${id}" of zome "${zome.name}" is missing`))
      }
      const hash = hashes.get(id) ?? (yield* wasmHash(wasm))
      hashes.set(id, hash)
      if (zome.hash !== null) {
        const expected = decodeHashB64(zome.hash, "wasm")
        if (expected === undefined || encodeHashB64(expected) !== encodeHashB64(hash)) {
          return yield* bundleError(
            new WasmHashMismatch({
              file,
              zome: zome.name,
              expected: zome.hash,
              actual: encodeHashB64(hash),
            }),
          )
        }
      }
      return {
        name: zome.name,
        wasm,
        wasmHash: hash,
        dependencies: (zome.dependencies ?? []).map((d) => d.name),
      } satisfies ResolvedZome
    })
    const integrityZomes = yield* Effect.forEach(bundle.manifest.integrity.zomes, resolve)
    const coordinatorZomes = yield* Effect.forEach(bundle.manifest.coordinator.zomes, resolve)
    return {
      name: bundle.manifest.name,
      integrityZomes,
      coordinatorZomes,
      defaults: {
        network_seed: bundle.manifest.integrity.network_seed,
        properties: bundle.manifest.integrity.properties,
      },
    } satisfies ResolvedDna
  },
)

function zomeDefs(zomes: ReadonlyArray<ResolvedZome>): ReadonlyArray<readonly [string, ZomeDef]> {
  return zomes.map((z) =>
    [z.name, { Wasm: { wasm_hash: z.wasmHash, dependencies: z.dependencies } }] as const
  )
}

/** The `DnaDef` of a resolved DNA under final modifiers. */
export function dnaDefOf(dna: ResolvedDna, modifiers: DnaModifiers): DnaDef {
  return {
    name: dna.name,
    modifiers,
    integrity_zomes: zomeDefs(dna.integrityZomes),
    coordinator_zomes: zomeDefs(dna.coordinatorZomes),
  }
}
