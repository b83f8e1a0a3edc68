/**
 * DNA registration and cell genesis, the install-time workflows. Registration stores each zome's
 * wasm (metered and compiled), refuses imports the conductor does not provide, asks each
 * integrity zome for its entry and link types (`entry_defs`) and records the resulting
 * `DnaFile`. Genesis runs `genesis_self_check`, then writes the first three actions of a chain
 * (`dna`, `agent_validation_pkg`, the agent key entry) and commits them through the one commit
 * workflow (`Commits`: validation, chain, DHT store and outbox in one transaction). Both are synchronous
 * once the keystore is ready and are meant to run inside the installer's transaction.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import {
  type DnaDef,
  dnaDefOf,
  dnaHash,
  type DnaModifiers,
  type ResolvedDna,
} from "../bundle/mod.ts"
import { Chain } from "../chain/mod.ts"
import { decodeUntrusted, encode, NIL } from "../codec/mod.ts"
import { type AgentPubKey, type DnaHash, HASH_LENGTH } from "../hash/mod.ts"
import {
  cellKeyOf,
  type CellRef,
  EXTISM_ENV,
  EXTISM_USER,
  type HostCallContext,
  HostFns,
  KERNEL_SIGNATURES,
  type RibosomeShape,
} from "../ribosome/mod.ts"
import {
  type CoordinatorZome,
  type DnaFile,
  type EntryDef,
  type IntegrityZome,
  type LoadedWasm,
  RibosomeStore,
  type Zome,
} from "../ribosome_store/mod.ts"
import type { Entry } from "../types/mod.ts"
import { Commits } from "./commit.ts"
import { runValidateCallback } from "./validation.ts"

/** A DNA that cannot be registered, or a genesis that did not pass. */
export class InstallFailed extends Schema.TaggedError<InstallFailed>()("InstallFailed", {
  reason: Schema.Literals(["InvalidDna", "GenesisFailed"]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

const EntryDefsResult = Schema.Struct({
  "entry_defs": Schema.optionalKey(
    Schema.Array(
      Schema.Struct({ name: Schema.String, visibility: Schema.Literals(["public", "private"]) }),
    ),
  ),
  "link_types": Schema.optionalKey(Schema.Array(Schema.String)),
})
const decodeEntryDefs = Schema.decodeUnknownExit(EntryDefsResult)

/** Callable exports of a module: `() -> i32` functions not starting with `__`. */
export function callableExports(loaded: LoadedWasm): ReadonlyArray<string> {
  return loaded.info.exports
    .filter((e) =>
      e.kind === "function" && e.type !== undefined && e.type.params.length === 0 &&
      e.type.results.length === 1 && e.type.results[0] === "i32" && !e.name.startsWith("__")
    )
    .map((e) => e.name)
}

function checkImports(
  zome: string,
  loaded: LoadedWasm,
  hostFns: ReadonlyMap<string, unknown>,
): string | undefined {
  for (const imp of loaded.info.imports) {
    const known = imp.module === EXTISM_ENV
      ? Object.hasOwn(KERNEL_SIGNATURES, imp.name)
      : imp.module === EXTISM_USER
      ? hostFns.has(imp.name)
      : false
    if (!known) {
      return `zome ${zome} imports ${imp.module}::${imp.name}, which this conductor does not provide` +
        (imp.module === "env" && imp.name === "abort"
          ? " (AssemblyScript: compile with --use abort=...)"
          : "")
    }
  }
  return undefined
}

const ZERO_AGENT = (() => {
  const key = new Uint8Array(HASH_LENGTH)
  key.set([0x84, 0x20, 0x24], 0)
  return key as AgentPubKey
})()

/** A context for install-time callbacks that have no cell yet. */
function installContext(
  dna: DnaFile,
  zome: Zome,
  kind: "entry_defs" | "genesis_self_check",
  agent: AgentPubKey,
): HostCallContext {
  const cell: CellRef = { cellId: [dna.hash, agent], dna, agent, appId: "", roleName: "" }
  return {
    kind,
    cell,
    zome,
    fnName: kind,
    provenance: agent,
    capGrant: { type: "chain_author" },
    workspace: null,
    depth: 0,
    unresolved: [],
    call: () => Effect.succeed({ type: "error", value: `call_1 is not allowed in ${kind}` }),
    // Install runs inside a synchronous database transaction: the guest may not wait.
    synchronous: true,
  }
}

/** Registers a DNA (idempotent) and returns its `DnaFile`. */
export const registerDna = (
  ribosome: RibosomeShape,
  resolved: ResolvedDna,
  modifiers: DnaModifiers,
) =>
  Effect.gen(function* () {
    const store = yield* RibosomeStore
    const def: DnaDef = dnaDefOf(resolved, modifiers)
    const hash = yield* dnaHash(def)
    // Cells that share a DNA hash share integrity zomes; coordinators come from each bundle.
    const existing = yield* Effect.orDie(store.dna(hash))
    const invalid = (detail: string) =>
      new InstallFailed({ reason: "InvalidDna", detail: `DNA ${resolved.name}: ${detail}` })

    const load = (zome: { name: string; wasm: Uint8Array }) =>
      Effect.gen(function* () {
        const loaded = yield* Effect.mapError(
          store.putWasm(zome.wasm),
          (e) => invalid(`zome ${zome.name}: ${e.detail}`),
        )
        const problem = checkImports(zome.name, loaded, yield* HostFns)
        if (problem !== undefined) return yield* invalid(problem)
        return loaded
      })

    const integrity: Array<IntegrityZome> = []
    for (const [index, zome] of resolved.integrityZomes.entries()) {
      const loaded = yield* load(zome)
      integrity.push({
        kind: "integrity",
        name: zome.name,
        index,
        wasmHash: zome.wasmHash,
        entryDefs: [],
        linkTypes: [],
        exports: callableExports(loaded),
      })
    }
    const coordinators: Array<CoordinatorZome> = []
    for (const zome of resolved.coordinatorZomes) {
      const loaded = yield* load(zome)
      coordinators.push({
        kind: "coordinator",
        name: zome.name,
        wasmHash: zome.wasmHash,
        dependencies: zome.dependencies,
        exports: callableExports(loaded),
      })
    }
    if (existing !== undefined) return { ...existing, coordinators, defBytes: encode(def) }
    const provisional: DnaFile = {
      hash,
      name: resolved.name,
      modifiers: { networkSeed: modifiers.network_seed, properties: modifiers.properties },
      integrity,
      coordinators,
      defBytes: encode(def),
    }
    const withTypes: Array<IntegrityZome> = []
    for (const zome of integrity) {
      if (!zome.exports.includes("entry_defs")) {
        withTypes.push(zome)
        continue
      }
      const ctx = installContext(provisional, zome, "entry_defs", ZERO_AGENT)
      const outcome = yield* ribosome.call(ctx, "entry_defs", NIL)
      ribosome.evictCell(cellKeyOf(ctx))
      if (outcome._tag !== "Ok") {
        const why = outcome._tag === "Unresolved" ? "it needs data (must_get_*)" : outcome.message
        return yield* invalid(`entry_defs of ${zome.name} failed: ${why}`)
      }
      let raw: unknown
      try {
        raw = decodeUntrusted(outcome.output)
      } catch {
        return yield* invalid(`entry_defs of ${zome.name} returned bytes that are not msgpack`)
      }
      const result = decodeEntryDefs(raw)
      if (result._tag === "Failure") {
        return yield* invalid(
          `entry_defs of ${zome.name} returned an unexpected shape: ${result.cause}`,
        )
      }
      const entryDefs: ReadonlyArray<EntryDef> = result.value.entry_defs ?? []
      const linkTypes = result.value.link_types ?? []
      const duplicate = [entryDefs.map((d) => d.name), linkTypes].find((names) =>
        new Set(names).size !== names.length
      )
      if (duplicate !== undefined) {
        return yield* invalid(`entry_defs of ${zome.name} declares a type name twice`)
      }
      withTypes.push({ ...zome, entryDefs, linkTypes })
    }
    const dna: DnaFile = { ...provisional, integrity: withTypes }
    yield* Effect.mapError(store.putDna(dna), (e) => invalid(e.detail))
    return dna
  })

/** Runs genesis for a new cell: self-check, the three genesis actions, validation, commit. */
export const runGenesis = (
  ribosome: RibosomeShape,
  cell: CellRef,
  membraneProof: Uint8Array | null,
) =>
  Effect.gen(function* () {
    const chain = yield* Chain
    const commits = yield* Commits
    const failed = (detail: string) =>
      new InstallFailed({
        reason: "GenesisFailed",
        detail: `genesis of ${cell.roleName} (DNA ${cell.dna.name}) failed: ${detail}`,
      })
    if (chain.head(cell.dna.hash, cell.agent) !== null) return
    for (const zome of cell.dna.integrity) {
      if (!zome.exports.includes("genesis_self_check")) continue
      const ctx = installContext(cell.dna, zome, "genesis_self_check", cell.agent)
      const dnaInfo = {
        name: cell.dna.name,
        hash: cell.dna.hash,
        modifiers: {
          "network_seed": cell.dna.modifiers.networkSeed,
          properties: cell.dna.modifiers.properties,
        },
        "zome_names": [
          ...cell.dna.integrity.map((z) => z.name),
          ...cell.dna.coordinators.map((z) => z.name),
        ],
      }
      const payload = encode({
        "membrane_proof": membraneProof,
        "agent_key": cell.agent,
        "dna_info": dnaInfo,
      })
      const checked = yield* Effect.result(
        runValidateCallback(ribosome, ctx, payload, "genesis_self_check"),
      )
      ribosome.evictCell(cellKeyOf(ctx))
      if (checked._tag === "Failure") return yield* failed(checked.failure.detail)
      const result = checked.success
      if (result.type === "invalid") {
        return yield* failed(`${zome.name} rejected it: ${result.reason}`)
      }
      if (result.type === "unresolved_dependencies") {
        return yield* failed(`${zome.name} needs data this conductor does not have`)
      }
    }
    const ws = yield* Effect.mapError(
      chain.open(cell.dna.hash, cell.agent),
      (e) => failed(e.message),
    )
    ws.append({ type: "dna", "dna_hash": cell.dna.hash as DnaHash }, null)
    ws.append({ type: "agent_validation_pkg", "membrane_proof": membraneProof }, null)
    const agentEntry: Entry = { "entry_type": "agent", entry: cell.agent }
    ws.append({
      type: "create",
      "entry_type": { type: "agent_pub_key" },
      "entry_hash": ws.entryHash(agentEntry),
    }, agentEntry)
    // Inside the install transaction: validation runs on the spot (it may not wait).
    yield* Effect.mapError(
      commits.commit(cell, ws, { synchronous: true }),
      (e) => failed(e.message),
    )
  })
