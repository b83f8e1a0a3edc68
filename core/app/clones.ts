/**
 * Clone cells of an app's roles: create (a DNA with new modifiers, genesis, in one
 * transaction), disable, enable and delete.
 *
 * @module
 */
import { Effect } from "effect"
import { type DnaDef, dnaHash } from "../bundle/mod.ts"
import type { RunningCell } from "../cell/mod.ts"
import { decode, encode } from "../codec/mod.ts"
import { type AgentPubKey, type DnaHash, encodeHashB64, Hasher } from "../hash/mod.ts"
import type { DnaFile } from "../ribosome_store/mod.ts"
import { nowMicros } from "../time/mod.ts"
import { runGenesis } from "../workflow/mod.ts"
import type { AppStatus, CloneCellId } from "./app_info.ts"
import { type AppContext, type CellRow, propertiesBytes } from "./context.ts"
import { appError } from "./errors.ts"

/** What `createClone` needs (app API `create_clone_cell`). */
export interface CreateCloneRequest {
  readonly roleName: string
  readonly modifiers: {
    readonly "network_seed"?: string | null | undefined
    readonly properties?: unknown
  }
  readonly membraneProof?: Uint8Array | null | undefined
  readonly name?: string | null | undefined
}

/** Builds the clones part of `Apps`. */
export function makeClones(ctx: AppContext) {
  const {
    store,
    keystore,
    chain,
    cells,
    ribosome,
    ribosomeStore,
    hasher,
    selectCell,
    insertCell,
    setCellEnabled,
    nextClone,
    rolesOf,
    cellRows,
    attempt,
    dnaOf,
    modifiersWire,
    clonedCell,
    startCells,
    stopCell,
    transactionally,
    requireApp,
    checkIds,
    checkSeed,
    deleteCellData,
    findClone,
  } = ctx
  const createClone = Effect.fn("Apps.createClone")(
    function* (appId: string, request: CreateCloneRequest) {
      yield* checkIds([["role_name", request.roleName], ["name", request.name]])
      yield* checkSeed("modifiers.network_seed", request.modifiers.network_seed)
      const row = yield* requireApp(appId)
      const role = rolesOf(row).find((r) => r.name === request.roleName)
      if (role === undefined) {
        return yield* appError("NotFound", `app "${appId}" has no role "${request.roleName}"`)
      }
      if (role.baseDna === null || role.strategy === "use_existing") {
        return yield* appError("InvalidInput", `role "${role.name}" cannot be cloned`)
      }
      const seed = request.modifiers.network_seed
      const properties = request.modifiers.properties
      if (
        (seed === undefined || seed === null) && (properties === undefined || properties === null)
      ) {
        return yield* appError(
          "InvalidInput",
          "a clone needs a network_seed or properties that differ from the role's DNA",
        )
      }
      const clones = cellRows(appId).filter((c) => c.role_name === role.name && c.clone_id !== null)
      if (clones.length >= role.cloneLimit) {
        return yield* appError(
          "CloneLimitReached",
          `role "${role.name}" allows ${role.cloneLimit} clone(s) and has ${clones.length}`,
        )
      }
      const base = role.baseDnaFile ?? (yield* dnaOf(role.baseDna))
      const baseDef = decode(base.defBytes) as DnaDef
      const modifiers = {
        "network_seed": seed ?? baseDef.modifiers.network_seed,
        properties: properties === undefined || properties === null
          ? baseDef.modifiers.properties
          : propertiesBytes(properties),
      }
      const def: DnaDef = { ...baseDef, modifiers }
      const hash = yield* Effect.provideService(dnaHash(def), Hasher, hasher)
      const agent = row.agent as AgentPubKey
      if (selectCell.get(hash, agent) !== undefined) {
        return yield* appError(
          "AlreadyExists",
          `a cell with DNA ${encodeHashB64(hash)} already exists for this agent`,
        )
      }
      yield* Effect.mapError(keystore.ready, (e) => appError("Internal", e.message))
      const createdAt = yield* nowMicros
      const dna: DnaFile = {
        ...base,
        hash,
        modifiers: { networkSeed: modifiers.network_seed, properties: modifiers.properties },
        defBytes: encode(def),
      }
      const cloned = yield* transactionally(
        Effect.gen(function* () {
          yield* Effect.mapError(ribosomeStore.putDna(dna), (e) => appError("Internal", e.detail))
          const n = (nextClone.get(appId, role.name) as { n: number }).n
          const cloneId = `${role.name}.${n}`
          insertCell.run(
            hash,
            agent,
            appId,
            role.name,
            cloneId,
            request.name ?? base.name,
            1,
            encode(modifiersWire(dna)),
            base.hash,
            encode(dna),
            createdAt,
          )
          const cell: RunningCell = {
            cellId: [hash, agent],
            dna,
            agent,
            appId,
            roleName: role.name,
            label: cloneId,
            cloneId,
          }
          yield* Effect.mapError(
            runGenesis(ribosome, cell, request.membraneProof ?? null),
            (e) => appError("GenesisFailed", e.detail),
          )
          return { cell, row: selectCell.get(hash, agent) as unknown as CellRow }
        }),
        () => {
          chain.forget(hash, agent)
          ribosomeStore.forgetDna(hash)
        },
      )
      if ((decode(row.status) as AppStatus).type === "enabled") {
        cells.add(cloned.cell)
      }
      return clonedCell(cloned.row)
    },
  )

  const disableClone = Effect.fn("Apps.disableClone")(
    function* (appId: string, clone: CloneCellId) {
      const row = yield* findClone(appId, clone)
      yield* stopCell([row.dna_hash as DnaHash, row.agent as AgentPubKey])
      if (row.enabled === 1) {
        yield* attempt("Apps.disableClone", () => setCellEnabled.run(0, row.dna_hash, row.agent))
      }
    },
  )

  const enableClone = Effect.fn("Apps.enableClone")(function* (appId: string, clone: CloneCellId) {
    const app = yield* requireApp(appId)
    const row = yield* findClone(appId, clone)
    if (row.enabled === 0) {
      yield* attempt("Apps.enableClone", () => setCellEnabled.run(1, row.dna_hash, row.agent))
    }
    if ((decode(app.status) as AppStatus).type === "enabled") yield* startCells(appId)
    return clonedCell({ ...row, enabled: 1 })
  })

  const deleteClone = Effect.fn("Apps.deleteClone")(function* (appId: string, clone: CloneCellId) {
    const row = yield* findClone(appId, clone)
    if (row.enabled === 1) {
      return yield* appError(
        "WrongStatus",
        `clone ${row.clone_id} must be disabled before it is deleted`,
      )
    }
    yield* attempt(
      "Apps.deleteClone",
      () => store.transaction(() => deleteCellData(row.dna_hash, row.agent)),
    )
    yield* Effect.mapError(ribosomeStore.collectGarbage, (e) => appError("Internal", e.detail))
  })

  return { createClone, disableClone, enableClone, deleteClone }
}
