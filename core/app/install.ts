/**
 * Installing an app (`Apps.install`): the bundle is read (from bytes or a path) and resolved,
 * its DNAs registered, the app and its cells recorded and genesis run, all in one transaction.
 *
 * @module
 */
import { Effect, Exit } from "effect"
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
import type { RunningCell } from "../cell/mod.ts"
import { encode } from "../codec/mod.ts"
import { type AgentPubKey, type DnaHash, encodeHashB64, Hasher } from "../hash/mod.ts"
import type { DnaFile } from "../ribosome_store/mod.ts"
import { nowMicros } from "../time/mod.ts"
import type { CellId } from "../types/mod.ts"
import { registerDna, runGenesis } from "../workflow/mod.ts"
import type { AppStatus } from "./app_info.ts"
import { type AppContext, propertiesBytes, type StoredRole } from "./context.ts"
import { appError } from "./errors.ts"

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

/** Builds the install part of `Apps`. */
export function makeInstall(ctx: AppContext) {
  const {
    keystore,
    chain,
    ribosome,
    ribosomeStore,
    hasher,
    insertApp,
    updateStatus,
    selectCell,
    insertCell,
    rowOf,
    modifiersWire,
    appInfo,
    transactionally,
    checkIds,
    checkSeed,
  } = ctx
  const maxBundleBytes = ctx.config.install.max_bundle_bytes
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
      // The same bound caps what the bundle decompresses to (its DNAs included): a small gzip
      // bomb stops there instead of inflating to the reader's 256 MiB default.
      return yield* installableApp(bytes, { source, maxDecompressedBytes: maxBundleBytes }).pipe(
        Effect.provideService(Hasher, hasher),
        Effect.mapError((e) =>
          // A file that is not a bundle container says no more than one that cannot be read:
          // the corruption detail would quote its first bytes.
          fromPath && e.reason._tag === "BundleCorrupt"
            ? appError("InvalidBundle", new BundleUnreadable({ file: source }).message)
            : e.reason._tag === "BundleTooLarge"
            ? appError("InvalidBundle", `${e.message} (the limit ${bundleLimit})`)
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
    const info = yield* transactionally(program, () => {
      for (const [dna, agent] of touched) chain.forget(dna, agent)
      for (const hash of registered) ribosomeStore.forgetDna(hash)
      if (generated !== undefined) keystore.forget(generated)
    })
    yield* Effect.logInfo(`installed app "${appId}"`)
    return info
  })

  return { install }
}
