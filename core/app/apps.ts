/**
 * The `Apps` service: the lifecycle of installed hApps and their cells (conductor-api.md §2.2,
 * §3.1, §8). Install resolves the bundle, registers DNAs, runs genesis and records the app in
 * one SQLite transaction (a failure leaves nothing behind); enable/disable start and stop cells
 * in the `Cells` registry; uninstall removes the app and its cells' data; clone cells are
 * created, disabled, enabled and deleted here. Interfaces (admin websocket, app websocket, HTTP)
 * call this one domain; none of them re-implements it.
 *
 * @module
 */
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import {
  BundleFileTooLarge,
  BundleUnreadable,
  hasDna,
  type InstallableApp,
  installableApp,
  installedManifest,
  type InstalledRoleInfo,
  type ModifierOverrides,
  quotedPath,
  readBundleFile,
  roleModifiers,
} from "../bundle/mod.ts"
import { cellIdKey, Cells, type RunningCell } from "../cell/mod.ts"
import { Chain } from "../chain/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { decode, encode } from "../codec/mod.ts"
import { type AgentPubKey, bytesEqual, type DnaHash, encodeHashB64, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Ribosome } from "../ribosome/ribosome.ts"
import type { HostFnServices } from "../ribosome/host_fn/host_fn.ts"
import { type DnaFile, RibosomeStore } from "../ribosome_store/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { TaskManager } from "../task/mod.ts"
import { nowMicros } from "../time/mod.ts"
import {
  type CellId,
  identifierProblem,
  identifiersProblem,
  networkSeedProblem,
} from "../types/mod.ts"
import { type DnaDef, dnaHash } from "../bundle/mod.ts"
import { registerDna, runGenesis } from "../workflow/genesis.ts"
import type {
  AppInfo,
  AppStatus,
  AppStatusFilter,
  CellInfo,
  CloneCellId,
  ClonedCell,
} from "./app_info.ts"
import { statusMatches } from "./app_info.ts"

/** An app operation that cannot be done; `reason` says why. */
export class AppError extends Schema.TaggedError<AppError>()("AppError", {
  reason: Schema.Literals([
    "NotFound",
    "AlreadyExists",
    "InvalidBundle",
    "InvalidInput",
    "InvalidDna",
    "GenesisFailed",
    "WrongStatus",
    "CloneLimitReached",
    "Dependents",
    "Internal",
  ]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
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

function propertiesBytes(value: unknown): Uint8Array {
  return (value as EncodedProperties | null)?._tag === "EncodedProperties"
    ? (value as EncodedProperties).bytes
    : encode(value)
}

/** `RoleSettings` of `install_app` (conductor-api.md §2.2). */
export type RoleSettings =
  | {
    readonly type: "provisioned"
    readonly value?:
      | {
        readonly "membrane_proof"?: Uint8Array | null | undefined
        readonly modifiers?:
          | { readonly "network_seed"?: string | null; readonly properties?: unknown }
          | null
          | undefined
      }
      | null
      | undefined
  }
  | { readonly type: "use_existing"; readonly value: { readonly "cell_id": CellId } }

/** What `install` needs. */
export interface InstallRequest {
  readonly source: { readonly type: "bytes"; readonly value: Uint8Array } | {
    readonly type: "path"
    readonly value: string
  }
  readonly agentKey?: AgentPubKey | null | undefined
  readonly installedAppId?: string | null | undefined
  readonly networkSeed?: string | null | undefined
  readonly rolesSettings?: { readonly [role: string]: RoleSettings } | null | undefined
  readonly ignoreGenesisFailure?: boolean | undefined
}

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

/** The stored description of a role. */
interface StoredRole {
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

interface AppRow {
  "app_id": string
  agent: Uint8Array
  manifest: Uint8Array
  status: Uint8Array
  "installed_at": number
  roles: Uint8Array
}

interface CellRow {
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

/** What Apps offers. */
export interface AppsShape {
  readonly install: (request: InstallRequest) => Effect.Effect<AppInfo, AppError>
  readonly enable: (appId: string) => Effect.Effect<AppInfo, AppError>
  readonly disable: (appId: string) => Effect.Effect<void, AppError>
  readonly uninstall: (appId: string, force: boolean) => Effect.Effect<void, AppError>
  readonly list: (filter: AppStatusFilter | null) => Effect.Effect<ReadonlyArray<AppInfo>, AppError>
  /** An app's info, or null when it is not installed. */
  readonly info: (appId: string) => Effect.Effect<AppInfo | null, AppError>
  /** The agent key of an app. */
  readonly agentOf: (appId: string) => AgentPubKey | undefined
  /** Every cell id of an app, running or not (provisioned, clones, use_existing). */
  readonly cellIds: (appId: string) => ReadonlyArray<CellId>
  readonly createClone: (
    appId: string,
    request: CreateCloneRequest,
  ) => Effect.Effect<ClonedCell, AppError>
  readonly disableClone: (appId: string, clone: CloneCellId) => Effect.Effect<void, AppError>
  readonly enableClone: (appId: string, clone: CloneCellId) => Effect.Effect<ClonedCell, AppError>
  readonly deleteClone: (appId: string, clone: CloneCellId) => Effect.Effect<void, AppError>
  readonly provideMemproofs: (
    appId: string,
    memproofs: { readonly [role: string]: Uint8Array },
  ) => Effect.Effect<void, AppError>
  /** App-side `enable_app`: only after memproofs were provided (or when already enabled). */
  readonly enableAfterMemproofs: (appId: string) => Effect.Effect<void, AppError>
}

const appError = (reason: AppError["reason"], detail: string) => new AppError({ reason, detail })

/** Builds the service and starts the cells of enabled apps. */
export const makeApps = Effect.gen(function* () {
  const config = yield* ConductorConfig
  const store = yield* Store
  const keystore = yield* Keystore
  const chain = yield* Chain
  const spaces = yield* Spaces
  const cells = yield* Cells
  const ribosome = yield* Ribosome
  const ribosomeStore = yield* RibosomeStore
  const tasks = yield* TaskManager
  const hasher = yield* Hasher
  const services = yield* Effect.context<HostFnServices | RibosomeStore>()
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
    program: Effect.Effect<A, AppError, HostFnServices | RibosomeStore>,
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

  const maxBundleBytes = config.install.max_bundle_bytes
  const bundleLimit = "install.max_bundle_bytes"

  /**
   * The bundle's bytes, bounded by `install.max_bundle_bytes` whichever way they came. A path
   * comes from a client: a failure to read it, or bytes that are not a bundle container at all,
   * give one generic error that reveals nothing about the file (readBundleFile).
   */
  const loadBundle = (request: InstallRequest) =>
    Effect.gen(function* () {
      const fromPath = request.source.type === "path"
      const source = fromPath ? quotedPath(request.source.value as string) : "<bytes>"
      let bytes: Uint8Array
      if (request.source.type === "bytes") {
        bytes = request.source.value
        if (bytes.length > maxBundleBytes) {
          return yield* appError(
            "InvalidBundle",
            new BundleFileTooLarge({ file: source, limit: maxBundleBytes, limitName: bundleLimit })
              .message,
          )
        }
      } else {
        bytes = yield* readBundleFile(request.source.value, {
          maxBytes: maxBundleBytes,
          limitName: bundleLimit,
        }).pipe(Effect.mapError((e) => appError("InvalidBundle", e.message)))
      }
      return yield* installableApp(bytes, { source }).pipe(
        Effect.provideService(Hasher, hasher),
        Effect.mapError((e) =>
          // A file that is not a bundle container says no more than one that cannot be read:
          // the corruption detail would quote its first bytes.
          fromPath && e.reason._tag === "BundleCorrupt"
            ? appError("InvalidBundle", new BundleUnreadable({ file: source }).message)
            : appError("InvalidBundle", e.message)
        ),
      )
    })

  const roleOverrides = (settings: RoleSettings | undefined): ModifierOverrides | undefined => {
    if (settings?.type !== "provisioned") return undefined
    const modifiers = settings.value?.modifiers
    if (modifiers === undefined || modifiers === null) return undefined
    return {
      ...(modifiers.network_seed !== undefined ? { "network_seed": modifiers.network_seed } : {}),
      ...(modifiers.properties !== undefined && modifiers.properties !== null
        ? { properties: propertiesBytes(modifiers.properties) }
        : {}),
    }
  }

  const install = Effect.fn("Apps.install")(function* (request: InstallRequest) {
    yield* checkIds([["installed_app_id", request.installedAppId]])
    yield* checkIds(Object.keys(request.rolesSettings ?? {}).map((r) => ["role name", r] as const))
    yield* checkSeed("network_seed", request.networkSeed)
    for (const [role, setting] of Object.entries(request.rolesSettings ?? {})) {
      if (setting.type !== "provisioned") continue
      yield* checkSeed(
        `roles_settings.${role}.modifiers.network_seed`,
        setting.value?.modifiers?.network_seed,
      )
    }
    const app: InstallableApp = yield* loadBundle(request)
    const appId = request.installedAppId ?? app.name
    // The bundle is outside input too: its name becomes the id, its role names become keys.
    yield* checkIds([
      [
        request.installedAppId === undefined || request.installedAppId === null
          ? "installed_app_id (the bundle's name)"
          : "installed_app_id",
        appId,
      ],
      ...app.roles.map((r) => ["the bundle's role name", r.name] as const),
    ])
    if (rowOf(appId) !== undefined) {
      return yield* appError("AlreadyExists", `app "${appId}" is already installed`)
    }
    const settings = request.rolesSettings ?? {}
    for (const role of Object.keys(settings)) {
      if (!app.roles.some((r) => r.name === role)) {
        return yield* appError(
          "InvalidInput",
          `roles_settings names role "${role}", which the app does not have`,
        )
      }
    }
    yield* Effect.mapError(keystore.ready, (e) => appError("Internal", e.message))
    if (
      request.agentKey !== undefined && request.agentKey !== null && !keystore.has(request.agentKey)
    ) {
      return yield* appError(
        "InvalidInput",
        `agent key ${
          encodeHashB64(request.agentKey)
        } is not in this conductor's keystore (generate it with generate_agent_pub_key)`,
      )
    }
    const membraneProofs = Object.entries(settings).filter(([, s]) =>
      s.type === "provisioned" && s.value?.membrane_proof !== undefined &&
      s.value.membrane_proof !== null
    )
    const deferred = app.allowDeferredMemproofs && membraneProofs.length === 0
    const installedAt = yield* nowMicros
    let generated: AgentPubKey | undefined
    const touched: Array<CellId> = []
    const registered: Array<DnaHash> = []

    const program = Effect.gen(function* () {
      let agent = request.agentKey ?? undefined
      if (agent === undefined) {
        agent = yield* Effect.mapError(keystore.generate, (e) => appError("Internal", e.message))
        generated = agent
      }
      const roles: Array<StoredRole> = []
      const infos = new Map<string, InstalledRoleInfo>()
      const genesis: Array<{ cell: RunningCell; proof: Uint8Array | null }> = []
      // Cell rows reference the app row, so they are written after it.
      const newCells: Array<{ dna: DnaFile; agent: AgentPubKey; roleName: string }> = []
      for (const role of app.roles) {
        const roleSettings = settings[role.name]
        const strategy = role.provisioning.strategy
        if (strategy === "use_existing") {
          if (roleSettings?.type !== "use_existing") {
            return yield* appError(
              "InvalidInput",
              `role "${role.name}" is use_existing: roles_settings must give its cell_id`,
            )
          }
          const cellId = roleSettings.value.cell_id
          if (selectCell.get(cellId[0], cellId[1]) === undefined) {
            return yield* appError(
              "NotFound",
              `role "${role.name}": no installed cell ${encodeHashB64(cellId[0])}`,
            )
          }
          roles.push({
            name: role.name,
            strategy,
            baseDna: cellId[0],
            cloneLimit: role.cloneLimit,
            existingCell: cellId,
            baseDnaFile: null,
            membraneProof: null,
          })
          infos.set(role.name, { dnaHash: cellId[0] })
          continue
        }
        if (!hasDna(role)) return yield* appError("InvalidBundle", `role "${role.name}" has no DNA`)
        const overrides = roleOverrides(roleSettings)
        const modifiers = roleModifiers(role, {
          networkSeed: request.networkSeed,
          roleSettings: overrides,
        })
        const dna = yield* Effect.mapError(
          registerDna(ribosome, role.dna, modifiers),
          (e) => appError("InvalidDna", e.detail),
        )
        registered.push(dna.hash)
        roles.push({
          name: role.name,
          strategy,
          baseDna: dna.hash,
          cloneLimit: role.cloneLimit,
          existingCell: null,
          baseDnaFile: dna,
          membraneProof: roleSettings?.type === "provisioned"
            ? roleSettings.value?.membrane_proof ?? null
            : null,
        })
        infos.set(role.name, { dnaHash: dna.hash, overrides })
        if (strategy === "clone_only") continue
        if (selectCell.get(dna.hash, agent) !== undefined) {
          return yield* appError(
            "AlreadyExists",
            `cell [${encodeHashB64(dna.hash)}, ${
              encodeHashB64(agent)
            }] of role "${role.name}" is already installed; use another agent key or network seed`,
          )
        }
        newCells.push({ dna, agent, roleName: role.name })
        const cellId: CellId = [dna.hash, agent]
        touched.push(cellId)
        const proof = roleSettings?.type === "provisioned"
          ? roleSettings.value?.membrane_proof ?? null
          : null
        genesis.push({
          cell: { cellId, dna, agent, appId, roleName: role.name, label: role.name, cloneId: null },
          proof,
        })
      }
      let status: AppStatus = deferred
        ? { type: "awaiting_memproofs" }
        : { type: "disabled", value: { type: "never_started" } }
      const manifest = installedManifest(app.manifest, infos)
      insertApp.run(appId, agent, encode(manifest), encode(status), installedAt, encode(roles))
      for (const cell of newCells) {
        const { dna, roleName } = cell
        insertCell.run(
          dna.hash,
          cell.agent,
          appId,
          roleName,
          null,
          dna.name,
          1,
          encode(modifiersWire(dna)),
          dna.hash,
          encode(dna),
          installedAt,
        )
      }
      if (!deferred) {
        for (const { cell, proof } of genesis) {
          const done = yield* Effect.exit(runGenesis(ribosome, cell, proof))
          if (Exit.isFailure(done)) {
            const error = Exit.findErrorOption(done)
            const detail = error._tag === "Some" ? error.value.detail : "genesis failed"
            if (!request.ignoreGenesisFailure) return yield* appError("GenesisFailed", detail)
            status = { type: "disabled", value: { type: "error", value: detail } }
            updateStatus.run(encode(status), appId)
          }
        }
      }
      return appInfo(rowOf(appId)!)
    })
    return yield* transactionally(program, () => {
      for (const [dna, agent] of touched) chain.forget(dna, agent)
      for (const hash of registered) ribosomeStore.forgetDna(hash)
      if (generated !== undefined) keystore.forget(generated)
    })
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

  const enable = Effect.fn("Apps.enable")(function* (appId: string) {
    const row = yield* requireApp(appId)
    const status = decode(row.status) as AppStatus
    if (status.type === "awaiting_memproofs") {
      return yield* appError(
        "WrongStatus",
        `app "${appId}" is awaiting membrane proofs; provide them first (provide_memproofs)`,
      )
    }
    if (status.type !== "enabled") {
      yield* Effect.mapError(keystore.ready, (e) => appError("Internal", e.message))
      yield* transactionally(
        Effect.gen(function* () {
          yield* genesisMissing(row, {})
          updateStatus.run(encode({ type: "enabled" }), appId)
        }),
        () => {
          for (const cell of cellRows(appId)) {
            chain.forget(cell.dna_hash as DnaHash, cell.agent as AgentPubKey)
          }
        },
      )
    }
    yield* startCells(appId)
    return appInfo(rowOf(appId)!)
  })

  const disable = Effect.fn("Apps.disable")(function* (appId: string) {
    const row = yield* requireApp(appId)
    const status = decode(row.status) as AppStatus
    yield* stopCells(appId)
    if (status.type === "disabled" && status.value.type === "user") return
    if (status.type === "awaiting_memproofs") return
    yield* attempt(
      "Apps.disable",
      () => updateStatus.run(encode({ type: "disabled", value: { type: "user" } }), appId),
    )
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

  const deleteCellData = (dna: Uint8Array, agent: Uint8Array) => {
    q("DELETE FROM dht_ops WHERE action_id IN (SELECT id FROM actions WHERE dna_hash = ? AND author = ?)")
      .run(dna, agent)
    q("DELETE FROM links WHERE dna_hash = ? AND author = ?").run(dna, agent)
    q("DELETE FROM cap_grants WHERE dna_hash = ? AND author = ?").run(dna, agent)
    const entries = q(
      "SELECT DISTINCT entry_hash FROM actions WHERE dna_hash = ? AND author = ? AND entry_hash IS NOT NULL",
    )
      .all(dna, agent) as Array<{ "entry_hash": Uint8Array }>
    q("DELETE FROM actions WHERE dna_hash = ? AND author = ?").run(dna, agent)
    const orphan = q(
      "DELETE FROM entries WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM actions WHERE entry_hash = ?)",
    )
    for (const { entry_hash: hash } of entries) orphan.run(hash, hash)
    deleteCellRow.run(dna, agent)
    chain.forget(dna as DnaHash, agent as AgentPubKey)
    spaces.forget(dna as DnaHash, agent as AgentPubKey)
  }

  const uninstall = Effect.fn("Apps.uninstall")(function* (appId: string, force: boolean) {
    yield* requireApp(appId)
    const dependents = dependentsOf(appId)
    if (dependents.length > 0 && !force) {
      return yield* appError(
        "Dependents",
        `app "${appId}" has cells that ${
          dependents.map((d) => `"${d}"`).join(", ")
        } use; uninstall with force to remove it anyway`,
      )
    }
    yield* stopCells(appId)
    yield* attempt("Apps.uninstall", () =>
      store.transaction(() => {
        for (const cell of cellRows(appId)) deleteCellData(cell.dna_hash, cell.agent)
        deleteApp.run(appId)
      }))
    yield* Effect.mapError(ribosomeStore.collectGarbage, (e) => appError("Internal", e.detail))
  })

  const list = (filter: AppStatusFilter | null) =>
    attempt("Apps.list", () =>
      (selectApps.all() as unknown as Array<AppRow>)
        .map(appInfo)
        .filter((info) => statusMatches(info.status, filter)))

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

  const provideMemproofs = Effect.fn("Apps.provideMemproofs")(function* (
    appId: string,
    memproofs: { readonly [role: string]: Uint8Array },
  ) {
    yield* checkIds(Object.keys(memproofs).map((role) => ["role name", role] as const))
    const row = yield* requireApp(appId)
    const status = decode(row.status) as AppStatus
    if (status.type !== "awaiting_memproofs") {
      return yield* appError("WrongStatus", `app "${appId}" is not awaiting membrane proofs`)
    }
    const roles = rolesOf(row)
    for (const role of Object.keys(memproofs)) {
      if (!roles.some((r) => r.name === role)) {
        return yield* appError("InvalidInput", `app "${appId}" has no role "${role}"`)
      }
    }
    yield* Effect.mapError(keystore.ready, (e) => appError("Internal", e.message))
    yield* transactionally(
      Effect.gen(function* () {
        yield* genesisMissing(row, memproofs)
        updateStatus.run(
          encode({ type: "disabled", value: { type: "not_started_after_providing_memproofs" } }),
          appId,
        )
      }),
      () => {
        for (const cell of cellRows(appId)) {
          chain.forget(cell.dna_hash as DnaHash, cell.agent as AgentPubKey)
        }
      },
    )
  })

  const enableAfterMemproofs = Effect.fn("Apps.enableAfterMemproofs")(function* (appId: string) {
    const row = yield* requireApp(appId)
    const status = decode(row.status) as AppStatus
    if (status.type === "enabled") return
    if (
      status.type !== "disabled" || status.value.type !== "not_started_after_providing_memproofs"
    ) {
      return yield* appError(
        "WrongStatus",
        `app "${appId}" can only be enabled from the app interface after providing membrane proofs`,
      )
    }
    yield* enable(appId)
  })

  // Cells of apps that were enabled when the conductor stopped start again now.
  for (const row of selectApps.all() as unknown as Array<AppRow>) {
    if ((decode(row.status) as AppStatus).type === "enabled") yield* startCells(row.app_id)
  }

  return Apps.of({
    install,
    enable,
    disable,
    uninstall,
    list,
    info: (appId) =>
      Effect.andThen(
        checkIds([["installed_app_id", appId]]),
        attempt("Apps.info", () => {
          const row = rowOf(appId)
          return row === undefined ? null : appInfo(row)
        }),
      ),
    agentOf: (appId) => rowOf(appId)?.agent as AgentPubKey | undefined,
    cellIds: (appId) => {
      const row = rowOf(appId)
      if (row === undefined) return []
      const own = cellRows(appId).map((
        c,
      ): CellId => [c.dna_hash as DnaHash, c.agent as AgentPubKey])
      const existing = rolesOf(row).flatMap((
        r,
      ) => (r.existingCell === null ? [] : [r.existingCell]))
      return [...own, ...existing]
    },
    createClone,
    disableClone,
    enableClone,
    deleteClone,
    provideMemproofs,
    enableAfterMemproofs,
  })
})

class RollBack extends Error {}

/** Installed apps and their cells. */
export class Apps extends Context.Service<Apps, AppsShape>()("conductor/app/Apps") {
  static readonly layer = Layer.effect(Apps, makeApps)
}
