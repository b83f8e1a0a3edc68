/**
 * `DnaFile`: everything the conductor knows about a registered DNA, resolved once at install:
 * its hash and definition, each zome's wasm hash and callable exports, and each integrity zome's
 * entry and link types (from its `entry_defs` callback). Pure data.
 *
 * @module
 */
import type { DnaHash, WasmHash } from "../hash/mod.ts"
import type { EntryVisibility } from "../types/mod.ts"

/** An entry type declared by an integrity zome. */
export interface EntryDef {
  readonly name: string
  readonly visibility: EntryVisibility
}

/** An integrity zome: entry and link types plus validation. */
export interface IntegrityZome {
  readonly kind: "integrity"
  readonly name: string
  /** Position in the DNA's integrity zome list: the `zome_index` of its entry and link types. */
  readonly index: number
  readonly wasmHash: WasmHash
  readonly entryDefs: ReadonlyArray<EntryDef>
  readonly linkTypes: ReadonlyArray<string>
  /** Exported guest functions (callbacks such as `validate`). */
  readonly exports: ReadonlyArray<string>
}

/** A coordinator zome: the functions clients call. */
export interface CoordinatorZome {
  readonly kind: "coordinator"
  readonly name: string
  readonly wasmHash: WasmHash
  /** Names of the integrity zomes it depends on (at most one, as Holochain). */
  readonly dependencies: ReadonlyArray<string>
  readonly exports: ReadonlyArray<string>
}

export type Zome = IntegrityZome | CoordinatorZome

/** A registered DNA. */
export interface DnaFile {
  readonly hash: DnaHash
  readonly name: string
  readonly modifiers: { readonly networkSeed: string; readonly properties: Uint8Array }
  readonly integrity: ReadonlyArray<IntegrityZome>
  readonly coordinators: ReadonlyArray<CoordinatorZome>
  /** The msgpack of the `DnaDef` as `get_dna_definition` returns it (conductor-api.md §7.4). */
  readonly defBytes: Uint8Array
}

/** A zome of the DNA by name. */
export function findZome(dna: DnaFile, name: string): Zome | undefined {
  return dna.coordinators.find((z) => z.name === name) ?? dna.integrity.find((z) => z.name === name)
}

/**
 * The integrity zome that type names resolve against for `zome`: an explicit name, else the
 * coordinator's dependency, else the DNA's only integrity zome.
 */
export function typesZomeFor(
  dna: DnaFile,
  zome: Zome,
  explicit?: string | null,
): IntegrityZome | undefined {
  if (explicit !== undefined && explicit !== null) {
    return dna.integrity.find((z) => z.name === explicit)
  }
  if (zome.kind === "integrity") return zome
  const dependency = zome.dependencies[0]
  if (dependency !== undefined) return dna.integrity.find((z) => z.name === dependency)
  return dna.integrity.length === 1 ? dna.integrity[0] : undefined
}
