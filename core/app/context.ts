/**
 * The shared part of `Apps` (./apps.ts): the tables it owns (`apps`, `cells`, `clone_counters`),
 * their rows and statements, and the helpers install, lifecycle and clones share (running a
 * program in one transaction, starting and stopping cells, deleting a cell through each owning
 * service's port). Internal to the folder.
 *
 * @module
 */
import { Cause, Effect, Exit } from "effect"
import { cellIdKey, Cells, type RunningCell } from "../cell/mod.ts"
import { Chain } from "../chain/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { decode, encode } from "../codec/mod.ts"
import { type AgentPubKey, bytesEqual, type DnaHash, encodeHashB64, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { type HostFnServices, Ribosome } from "../ribosome/mod.ts"
import { type DnaFile, RibosomeStore } from "../ribosome_store/mod.ts"
import { Outbox, Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { TaskManager } from "../task/mod.ts"
import {
  type CellId,
  identifierProblem,
  identifiersProblem,
  networkSeedProblem,
} from "../types/mod.ts"
import { Commits, runGenesis } from "../workflow/mod.ts"
import type { AppInfo, AppStatus, CellInfo, CloneCellId, ClonedCell } from "./app_info.ts"
import { type AppError, appError } from "./errors.ts"

/** The stored description of a role. */
export interface StoredRole {
  readonly name: string
  readonly strategy: "create" | "clone_only" | "use_existing"
  /** The DNA of the role's own cell or, for clone_only, the base DNA clones derive from. */
  readonly baseDna: DnaHash | null
  readonly cloneLimit: number
  /** For use_existing: the cell of another app this role points to. */
  readonly existingCell: CellId | null
  /** The role's DNA with this bundle's coordinators: what clones start from. */
  readonly baseDnaFile: DnaFile | null
  /** The membrane proof given at install, reused if genesis has to be retried. */
  readonly membraneProof: Uint8Array | null
}

/** A row of `apps`. */
export interface AppRow {
  "app_id": string
  agent: Uint8Array
  manifest: Uint8Array
  status: Uint8Array
  "installed_at": number
  roles: Uint8Array
}

/** A row of `cells`. */
export interface CellRow {
  "dna_hash": Uint8Array
  agent: Uint8Array
  "app_id": string
  "role_name": string
  "clone_id": string | null
  name: string
  enabled: number
  modifiers: Uint8Array
  "original_dna_hash": Uint8Array
  "dna_file": Uint8Array
  "created_at": number
}

/**
 * DNA properties that are already msgpack, used byte for byte (an interface that kept the exact
 * bytes a client sent passes these instead of a decoded value, which JS cannot always re-encode
 * identically: integral floats, integer-like map keys).
 */
export interface EncodedProperties {
  readonly _tag: "EncodedProperties"
  readonly bytes: Uint8Array
}

/** Wraps exact msgpack properties for `install` and `createClone`. */
export function encodedProperties(bytes: Uint8Array): EncodedProperties {
  return { _tag: "EncodedProperties", bytes }
}

/** Properties as msgpack: exact bytes when the interface kept them, else encoded. */
export function propertiesBytes(value: unknown): Uint8Array {
  return (value as EncodedProperties | null)?._tag === "EncodedProperties"
    ? (value as EncodedProperties).bytes
    : encode(value)
}

/**
 * What the parts of `Apps` share: the services they use, the statements over the tables Apps
 * owns (`apps`, `cells`, `clone_counters`), and the helpers that read and write them.
 */
export const makeAppContext = Effect.gen(function* () {
  const config = yield* ConductorConfig
  const store = yield* Store
  const keystore = yield* Keystore
  const chain = yield* Chain
  const spaces = yield* Spaces
  const outbox = yield* Outbox
  const commits = yield* Commits
  const cells = yield* Cells
  const ribosome = yield* Ribosome
  const ribosomeStore = yield* RibosomeStore
  const tasks = yield* TaskManager
  const hasher = yield* Hasher
  const services = yield* Effect.context<HostFnServices | RibosomeStore | Commits>()
  const runSync = Effect.runSyncExitWith(services)
  const q = store.prepare
  const selectApp = q(
    "SELECT app_id, agent, manifest, status, installed_at, roles FROM apps WHERE app_id = ?",
  )
  const selectApps = q(
    "SELECT app_id, agent, manifest, status, installed_at, roles FROM apps ORDER BY installed_at DESC, app_id",
  )
  const insertApp = q(
    "INSERT INTO apps (app_id, agent, manifest, status, installed_at, roles) VALUES (?, ?, ?, ?, ?, ?)",
  )
  const updateStatus = q("UPDATE apps SET status = ? WHERE app_id = ?")
  const deleteApp = q("DELETE FROM apps WHERE app_id = ?")
  const selectCells = q("SELECT * FROM cells WHERE app_id = ? ORDER BY created_at, clone_id")
  const selectCell = q("SELECT * FROM cells WHERE dna_hash = ? AND agent = ?")
  const insertCell = q(
    `INSERT INTO cells (dna_hash, agent, app_id, role_name, clone_id, name, enabled, modifiers, original_dna_hash, dna_file, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const setCellEnabled = q("UPDATE cells SET enabled = ? WHERE dna_hash = ? AND agent = ?")
  const deleteCellRow = q("DELETE FROM cells WHERE dna_hash = ? AND agent = ?")
  const nextClone = q(
    `INSERT INTO clone_counters (app_id, role_name, next_index) VALUES (?, ?, 1)
     ON CONFLICT (app_id, role_name) DO UPDATE SET next_index = next_index + 1 RETURNING next_index - 1 AS n`,
  )

  const rowOf = (appId: string) => selectApp.get(appId) as AppRow | undefined
  const rolesOf = (row: AppRow) => decode(row.roles) as Array<StoredRole>
  const cellRows = (appId: string) => selectCells.all(appId) as unknown as Array<CellRow>

  const attempt = <A>(operation: string, f: () => A) =>
    Effect.try({
      try: f,
      catch: (cause) =>
        appError(
          "Internal",
          `${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
        ),
    })

  const dnaOf = (hash: Uint8Array) =>
    Effect.flatMap(
      Effect.mapError(ribosomeStore.dna(hash as DnaHash), (e) => appError("Internal", e.detail)),
      (dna) =>
        dna === undefined
          ? Effect.fail(appError("Internal", `DNA ${encodeHashB64(hash)} is not registered`))
          : Effect.succeed(dna),
    )

  const modifiersWire = (dna: DnaFile) => ({
    "network_seed": dna.modifiers.networkSeed,
    properties: dna.modifiers.properties,
  })

  const clonedCell = (row: CellRow): ClonedCell => ({
    "cell_id": [row.dna_hash as DnaHash, row.agent as AgentPubKey],
    "clone_id": row.clone_id!,
    "original_dna_hash": row.original_dna_hash as DnaHash,
    "dna_modifiers": decode(row.modifiers) as ClonedCell["dna_modifiers"],
    name: row.name,
    enabled: row.enabled === 1,
  })

  const appInfo = (row: AppRow): AppInfo => {
    const roles = rolesOf(row)
    const rows = cellRows(row.app_id)
    const cellInfo: { [role: string]: Array<CellInfo> } = {}
    for (const role of roles) {
      const list: Array<CellInfo> = []
      const own = rows.find((c) => c.role_name === role.name && c.clone_id === null)
      const existing = role.existingCell === null
        ? undefined
        : (selectCell.get(role.existingCell[0], role.existingCell[1]) as CellRow | undefined)
      for (const cell of [own, existing]) {
        if (cell === undefined) continue
        list.push({
          type: "provisioned",
          value: {
            "cell_id": [cell.dna_hash as DnaHash, cell.agent as AgentPubKey],
            "dna_modifiers": decode(cell.modifiers) as ClonedCell["dna_modifiers"],
            name: cell.name,
          },
        })
      }
      const clones = rows.filter((c) => c.role_name === role.name && c.clone_id !== null)
      for (
        const clone of [
          ...clones.filter((c) => c.enabled === 1),
          ...clones.filter((c) => c.enabled === 0),
        ]
      ) {
        list.push({ type: "cloned", value: clonedCell(clone) })
      }
      cellInfo[role.name] = list
    }
    return {
      "installed_app_id": row.app_id,
      "cell_info": cellInfo,
      status: decode(row.status) as AppStatus,
      "agent_pub_key": row.agent as AgentPubKey,
      manifest: decode(row.manifest),
      "installed_at": row.installed_at,
    }
  }

  /** Starts the running cells of an enabled app (provisioned cells and enabled clones). */
  const startCells = (appId: string) =>
    Effect.sync(() => {
      for (const row of cellRows(appId)) {
        if (row.enabled !== 1) continue
        const dna = decode(row.dna_file) as DnaFile
        const cell: RunningCell = {
          cellId: [row.dna_hash as DnaHash, row.agent as AgentPubKey],
          dna,
          agent: row.agent as AgentPubKey,
          appId,
          roleName: row.role_name,
          label: row.clone_id ?? row.role_name,
          cloneId: row.clone_id,
        }
        cells.add(cell)
      }
    })

  const stopCell = (cellId: CellId) =>
    Effect.gen(function* () {
      cells.remove(cellId)
      ribosome.evictCell(cellIdKey(cellId))
      yield* tasks.cancelGroup(`cell:${cellIdKey(cellId)}`)
    })

  const stopCells = (appId: string) =>
    Effect.forEach(
      cellRows(appId),
      (row) => stopCell([row.dna_hash as DnaHash, row.agent as AgentPubKey]),
      { discard: true },
    )

  /**
   * Runs `program` synchronously inside one transaction. On failure everything written is
   * rolled back and `cleanup` forgets what the in-memory caches learned meanwhile.
   */
  const transactionally = <A>(
    program: Effect.Effect<A, AppError, HostFnServices | RibosomeStore | Commits>,
    cleanup: () => void,
  ) =>
    Effect.suspend(() => {
      let exit: Exit.Exit<A, AppError> | undefined
      try {
        store.transaction(() => {
          exit = runSync(program)
          if (Exit.isFailure(exit)) throw new RollBack()
        })
      } catch (cause) {
        cleanup()
        if (!(cause instanceof RollBack)) {
          return Effect.fail(
            appError(
              "Internal",
              `install transaction failed: ${cause instanceof Error ? cause.message : cause}`,
            ),
          )
        }
      }
      if (exit === undefined) return Effect.fail(appError("Internal", "install did not run"))
      if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
      const failure = Exit.findErrorOption(exit)
      if (failure._tag === "Some") return Effect.fail(failure.value)
      // A defect (a storage exception, a bug) still becomes a typed error that names it.
      const cause = Cause.squash(exit.cause)
      return Effect.fail(
        appError("Internal", cause instanceof Error ? cause.message : String(cause)),
      )
    })

  /** Fails with `InvalidInput` naming the first identifier that breaks the rule (types/identifier). */
  const checkIds = (fields: ReadonlyArray<readonly [string, string | null | undefined]>) =>
    Effect.suspend(() => {
      const problem = identifiersProblem(fields)
      return problem === undefined ? Effect.void : Effect.fail(appError("InvalidInput", problem))
    })

  const checkSeed = (field: string, seed: string | null | undefined) =>
    Effect.suspend(() => {
      const problem = seed === null || seed === undefined
        ? undefined
        : networkSeedProblem(field, seed)
      return problem === undefined ? Effect.void : Effect.fail(appError("InvalidInput", problem))
    })

  const requireApp = (appId: string) =>
    Effect.suspend(() => {
      const problem = identifierProblem("installed_app_id", appId)
      if (problem !== undefined) return Effect.fail(appError("InvalidInput", problem))
      const row = rowOf(appId)
      return row === undefined
        ? Effect.fail(appError("NotFound", `app "${appId}" is not installed`))
        : Effect.succeed(row)
    })

  /** Runs genesis for cells of an app that do not have it yet (after a tolerated failure or memproofs). */
  const genesisMissing = (row: AppRow, proofs: { readonly [role: string]: Uint8Array }) =>
    Effect.gen(function* () {
      for (const cell of cellRows(row.app_id)) {
        if (chain.head(cell.dna_hash as DnaHash, cell.agent as AgentPubKey) !== null) continue
        const dna = decode(cell.dna_file) as DnaFile
        const running: RunningCell = {
          cellId: [cell.dna_hash as DnaHash, cell.agent as AgentPubKey],
          dna,
          agent: cell.agent as AgentPubKey,
          appId: row.app_id,
          roleName: cell.role_name,
          label: cell.clone_id ?? cell.role_name,
          cloneId: cell.clone_id,
        }
        const installed = rolesOf(row).find((r) => r.name === cell.role_name)?.membraneProof ?? null
        yield* Effect.mapError(
          runGenesis(ribosome, running, proofs[cell.role_name] ?? installed),
          (e) => appError("GenesisFailed", e.detail),
        )
      }
    })

  const dependentsOf = (appId: string) => {
    const own = cellRows(appId).map((c) =>
      cellIdKey([c.dna_hash as DnaHash, c.agent as AgentPubKey])
    )
    return (selectApps.all() as unknown as Array<AppRow>)
      .filter((other) => other.app_id !== appId)
      .filter((other) =>
        rolesOf(other).some((r) =>
          r.existingCell !== null && own.includes(cellIdKey(r.existingCell))
        )
      )
      .map((other) => other.app_id)
  }

  /** Deletes a cell: each service deletes its own rows, inside the caller's transaction. */
  const deleteCellData = (dna: Uint8Array, agent: Uint8Array) => {
    const cellId: CellId = [dna as DnaHash, agent as AgentPubKey]
    outbox.forgetCell(cellId[0], cellId[1])
    spaces.deleteCell(cellId[0], cellId[1])
    chain.deleteCell(cellId[0], cellId[1])
    deleteCellRow.run(dna, agent)
    commits.forget({ cellId })
  }

  const findClone = (appId: string, clone: CloneCellId) =>
    Effect.suspend(() => {
      const problem = identifiersProblem([
        ["installed_app_id", appId],
        ["clone_id", clone.type === "clone_id" ? clone.value : null],
      ])
      if (problem !== undefined) return Effect.fail(appError("InvalidInput", problem))
      const row = cellRows(appId).find((c) =>
        c.clone_id !== null && (clone.type === "clone_id"
          ? c.clone_id === clone.value
          : bytesEqual(c.dna_hash, clone.value))
      )
      const what = clone.type === "clone_id" ? clone.value : encodeHashB64(clone.value)
      return row === undefined
        ? Effect.fail(appError("NotFound", `app "${appId}" has no clone cell ${what}`))
        : Effect.succeed(row)
    })

  return {
    config,
    store,
    keystore,
    chain,
    spaces,
    outbox,
    commits,
    cells,
    ribosome,
    ribosomeStore,
    tasks,
    hasher,
    q,
    selectApp,
    selectApps,
    insertApp,
    updateStatus,
    deleteApp,
    selectCells,
    selectCell,
    insertCell,
    setCellEnabled,
    deleteCellRow,
    nextClone,
    rowOf,
    rolesOf,
    cellRows,
    attempt,
    dnaOf,
    modifiersWire,
    clonedCell,
    appInfo,
    startCells,
    stopCell,
    stopCells,
    transactionally,
    requireApp,
    checkIds,
    checkSeed,
    genesisMissing,
    dependentsOf,
    deleteCellData,
    findClone,
  }
})

/** The shared context of the parts of `Apps`. */
export type AppContext = Effect.Success<typeof makeAppContext>

class RollBack extends Error {}
