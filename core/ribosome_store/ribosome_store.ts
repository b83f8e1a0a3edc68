/**
 * The `RibosomeStore`: wasm blobs by hash, their metered (instrumented) form and compiled
 * modules, and registered DNAs. Instrumenting happens once per wasm and metering settings and is
 * persisted, so a restart or a second install of the same wasm neither re-parses nor
 * re-instruments it; compiled `WebAssembly.Module`s are cached for the life of the process and
 * built lazily on first use (V8 machine code cannot be persisted from Deno). It stores; it does
 * not run anything.
 *
 * @module
 */
import { Context, Effect, Layer, Schema } from "effect"
import { decode, encode } from "../codec/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { type DnaHash, encodeHashB64, Hasher, hashKey, type WasmHash } from "../hash/mod.ts"
import { Store } from "../store/mod.ts"
import { instrumentWasm, type WasmModuleInfo } from "../wasm/mod.ts"
import type { DnaFile } from "./dna_file.ts"

/** A wasm or DNA the store cannot accept or load. */
export class RibosomeStoreError
  extends Schema.TaggedError<RibosomeStoreError>()("RibosomeStoreError", {
    reason: Schema.Literals(["InvalidWasm", "NotFound", "Storage"]),
    detail: Schema.String,
  }) {
  override get message(): string {
    return this.detail
  }
}

/** A compiled, metered module and its facts. */
export interface LoadedWasm {
  readonly hash: WasmHash
  readonly module: WebAssembly.Module
  readonly info: WasmModuleInfo
}

/** Bump when the instrumenter's output changes, so stored metered bytes are rebuilt. */
export const METERING_VERSION = 2

/**
 * Fuel of a call from the guest into the kernel or a host function (about 15 ns of work at the
 * 20 fuel/ns guest compute runs at; host functions add their own cost on top).
 */
export const HOST_CALL_COST = 300

/** What the RibosomeStore offers. */
export interface RibosomeStoreShape {
  /** Stores a wasm (idempotent), instrumenting it if needed; fails with `InvalidWasm` naming the problem. */
  readonly putWasm: (bytes: Uint8Array) => Effect.Effect<LoadedWasm, RibosomeStoreError>
  /** A stored wasm, compiled (cached). */
  readonly wasm: (hash: WasmHash) => Effect.Effect<LoadedWasm, RibosomeStoreError>
  /** The original bytes of a stored wasm. */
  readonly wasmBytes: (hash: WasmHash) => Effect.Effect<Uint8Array, RibosomeStoreError>
  /** Registers a DNA (idempotent). Must run inside the installing transaction when there is one. */
  readonly putDna: (dna: DnaFile) => Effect.Effect<void, RibosomeStoreError>
  /** A registered DNA. */
  readonly dna: (hash: DnaHash) => Effect.Effect<DnaFile | undefined, RibosomeStoreError>
  /** Every registered DNA hash. */
  readonly dnaHashes: () => ReadonlyArray<DnaHash>
  /** Forgets DNAs no cell uses any more (and their wasm when no DNA uses it). */
  readonly collectGarbage: Effect.Effect<void, RibosomeStoreError>
  /** Drops a DNA from the in-memory cache (after the transaction that stored it rolled back). */
  readonly forgetDna: (hash: DnaHash) => void
}

/** Builds the store. */
export const makeRibosomeStore = Effect.gen(function* () {
  const store = yield* Store
  const hasher = yield* Hasher
  const config = yield* ConductorConfig
  const maxMemoryPages = Math.floor((config.ribosome.max_memory_mb * 1024 * 1024) / 65536)
  const meteringKey = `v${METERING_VERSION}:pages=${maxMemoryPages}:call=${HOST_CALL_COST}`
  const q = store.prepare
  const insertWasm = q(
    "INSERT OR IGNORE INTO wasm (hash, code, metered, metered_info, metered_key) VALUES (?, ?, ?, ?, ?)",
  )
  const updateMetered = q(
    "UPDATE wasm SET metered = ?, metered_info = ?, metered_key = ? WHERE hash = ?",
  )
  const selectWasm = q("SELECT code, metered, metered_info, metered_key FROM wasm WHERE hash = ?")
  const insertDna = q("INSERT OR IGNORE INTO dnas (dna_hash, def, zomes) VALUES (?, ?, ?)")
  const selectDna = q("SELECT zomes FROM dnas WHERE dna_hash = ?")
  const selectDnaHashes = q("SELECT dna_hash FROM dnas ORDER BY dna_hash")
  const deleteUnusedDnas = q("DELETE FROM dnas WHERE dna_hash NOT IN (SELECT dna_hash FROM cells)")
  const modules = new Map<string, LoadedWasm>()
  const dnas = new Map<string, DnaFile>()

  const storageError = (operation: string) => (cause: unknown) =>
    new RibosomeStoreError({
      reason: "Storage",
      detail: `${operation}: ${cause instanceof Error ? cause.message : cause}`,
    })

  type WasmRow = {
    code: Uint8Array
    metered: Uint8Array | null
    "metered_info": Uint8Array | null
    "metered_key": string | null
  }
  const wasmRow = (hash: WasmHash, operation: string) =>
    Effect.try({
      try: () => selectWasm.get(hash) as WasmRow | undefined,
      catch: storageError(operation),
    })

  const instrument = (hash: WasmHash, code: Uint8Array) => {
    // The initial fuel only bounds the start function; every call sets its own budget.
    const result = instrumentWasm(code, {
      maxMemoryPages,
      initialFuel: BigInt(config.ribosome.fuel_per_call),
      hostCallCost: HOST_CALL_COST,
    })
    if (result._tag === "InstrumentError") {
      return Effect.fail(
        new RibosomeStoreError({
          reason: "InvalidWasm",
          detail: `wasm ${encodeHashB64(hash)}: ${result.message}`,
        }),
      )
    }
    const info: WasmModuleInfo = {
      imports: result.imports,
      exports: result.exports,
      memories: result.memories,
      metered: result.metered,
      start: result.start,
    }
    return Effect.succeed({ bytes: result.bytes, info })
  }

  const compile = (hash: WasmHash, bytes: Uint8Array, info: WasmModuleInfo) =>
    Effect.try({
      try: () => {
        const loaded = {
          hash,
          module: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>),
          info,
        }
        modules.set(hashKey(hash), loaded)
        return loaded
      },
      catch: (cause) =>
        new RibosomeStoreError({
          reason: "InvalidWasm",
          detail: `wasm ${encodeHashB64(hash)} does not compile: ${cause}`,
        }),
    })

  const putWasm = Effect.fn("RibosomeStore.putWasm")(function* (bytes: Uint8Array) {
    const hash = hasher.hashContent("wasm", bytes)
    const row = yield* wasmRow(hash, "RibosomeStore.putWasm")
    // The row is checked even when the module is cached: a rolled-back install removes the row.
    if (row !== undefined && row.metered_key === meteringKey) return yield* wasm(hash)
    const metered = yield* instrument(hash, bytes)
    yield* Effect.try({
      try: () =>
        row === undefined
          ? insertWasm.run(hash, bytes, metered.bytes, encode(metered.info), meteringKey)
          : updateMetered.run(metered.bytes, encode(metered.info), meteringKey, hash),
      catch: storageError("RibosomeStore.putWasm"),
    })
    return yield* compile(hash, metered.bytes, metered.info)
  })

  const wasm = (hash: WasmHash): Effect.Effect<LoadedWasm, RibosomeStoreError> =>
    Effect.suspend(() => {
      const cached = modules.get(hashKey(hash))
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.gen(function* () {
        const row = yield* wasmRow(hash, "RibosomeStore.wasm")
        if (row === undefined) {
          return yield* new RibosomeStoreError({
            reason: "NotFound",
            detail: `no wasm ${encodeHashB64(hash)}`,
          })
        }
        if (row.metered !== null && row.metered_info !== null && row.metered_key === meteringKey) {
          return yield* compile(hash, row.metered, decode(row.metered_info) as WasmModuleInfo)
        }
        // Metering settings or the instrumenter changed since this wasm was stored.
        const metered = yield* instrument(hash, row.code)
        yield* Effect.try({
          try: () => updateMetered.run(metered.bytes, encode(metered.info), meteringKey, hash),
          catch: storageError("RibosomeStore.wasm"),
        })
        return yield* compile(hash, metered.bytes, metered.info)
      })
    })

  const wasmBytes = (hash: WasmHash) =>
    Effect.gen(function* () {
      const row = yield* wasmRow(hash, "RibosomeStore.wasmBytes")
      if (row === undefined) {
        return yield* new RibosomeStoreError({
          reason: "NotFound",
          detail: `no wasm ${encodeHashB64(hash)}`,
        })
      }
      return row.code
    })

  const putDna = (dna: DnaFile) =>
    Effect.try({
      try: () => {
        insertDna.run(dna.hash, dna.defBytes, encode(dna))
        dnas.set(hashKey(dna.hash), dna)
      },
      catch: storageError("RibosomeStore.putDna"),
    })

  const getDna = (hash: DnaHash) =>
    Effect.try({
      try: () => {
        const cached = dnas.get(hashKey(hash))
        if (cached !== undefined) return cached
        const row = selectDna.get(hash) as { zomes: Uint8Array } | undefined
        if (row === undefined) return undefined
        const dna = decode(row.zomes) as DnaFile
        dnas.set(hashKey(hash), dna)
        return dna
      },
      catch: storageError("RibosomeStore.dna"),
    })

  const collectGarbage = Effect.try({
    try: () =>
      store.transaction(() => {
        deleteUnusedDnas.run()
        const used = new Set<string>()
        // Cells carry their own coordinators, so their wasm counts as used too.
        const files = [
          ...(q("SELECT zomes AS file FROM dnas").all() as Array<{ file: Uint8Array }>),
          ...(q("SELECT dna_file AS file FROM cells").all() as Array<{ file: Uint8Array }>),
        ]
        for (const row of files) {
          const dna = decode(row.file) as DnaFile
          for (const zome of [...dna.integrity, ...dna.coordinators]) {
            used.add(hashKey(zome.wasmHash))
          }
        }
        for (const row of q("SELECT hash FROM wasm").all() as Array<{ hash: Uint8Array }>) {
          if (!used.has(hashKey(row.hash))) {
            q("DELETE FROM wasm WHERE hash = ?").run(row.hash)
            modules.delete(hashKey(row.hash))
          }
        }
        const live = new Set(
          (selectDnaHashes.all() as Array<{ dna_hash: Uint8Array }>).map((r) =>
            hashKey(r.dna_hash)
          ),
        )
        for (const key of [...dnas.keys()]) if (!live.has(key)) dnas.delete(key)
      }),
    catch: storageError("RibosomeStore.collectGarbage"),
  })

  return RibosomeStore.of({
    putWasm,
    wasm,
    wasmBytes,
    putDna,
    dna: getDna,
    dnaHashes: () =>
      (selectDnaHashes.all() as Array<{ "dna_hash": Uint8Array }>).map((r) =>
        r.dna_hash as DnaHash
      ),
    collectGarbage,
    forgetDna: (hash) => void dnas.delete(hashKey(hash)),
  })
})

/** Wasm and DNA storage with a compiled-module cache. */
export class RibosomeStore extends Context.Service<RibosomeStore, RibosomeStoreShape>()(
  "conductor/ribosome_store/RibosomeStore",
) {
  static readonly layer = Layer.effect(RibosomeStore, makeRibosomeStore)
}
