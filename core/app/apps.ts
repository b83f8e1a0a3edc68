/**
 * The `Apps` service: the lifecycle of installed hApps and their cells (conductor-api.md §2.2,
 * §3.1, §8). Install resolves the bundle, registers DNAs, runs genesis and records the app in
 * one SQLite transaction (a failure leaves nothing behind); enable/disable start and stop cells
 * in the `Cells` registry; uninstall removes the app and its cells' data; clone cells are
 * created, disabled, enabled and deleted here. Interfaces (admin websocket, app websocket, HTTP)
 * call this one domain; none of them re-implements it. The parts live beside it: `install.ts`,
 * `lifecycle.ts`, `clones.ts`, over the shared tables and helpers of `context.ts`.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { decode } from "../codec/mod.ts"
import type { AgentPubKey, DnaHash } from "../hash/mod.ts"
import type { CellId } from "../types/mod.ts"
import {
  type AppInfo,
  type AppStatus,
  type AppStatusFilter,
  type CloneCellId,
  type ClonedCell,
  statusMatches,
} from "./app_info.ts"
import { type CreateCloneRequest, makeClones } from "./clones.ts"
import { type AppRow, makeAppContext } from "./context.ts"
import type { AppError } from "./errors.ts"
import { type InstallRequest, makeInstall } from "./install.ts"
import { makeLifecycle } from "./lifecycle.ts"

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

/** Builds the service and starts the cells of enabled apps. */
export const makeApps = Effect.gen(function* () {
  const ctx = yield* makeAppContext
  const { selectApps, startCells, attempt, rowOf, appInfo, cellRows, rolesOf, checkIds } = ctx
  const { install } = makeInstall(ctx)
  const { enable, disable, uninstall, provideMemproofs, enableAfterMemproofs } = makeLifecycle(ctx)
  const { createClone, disableClone, enableClone, deleteClone } = makeClones(ctx)

  const list = (filter: AppStatusFilter | null) =>
    attempt("Apps.list", () =>
      (selectApps.all() as unknown as Array<AppRow>)
        .map(appInfo)
        .filter((info) => statusMatches(info.status, filter)))

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

/** Installed apps and their cells. */
export class Apps extends Context.Service<Apps, AppsShape>()("conductor/app/Apps") {
  static readonly layer = Layer.effect(Apps, makeApps)
}
