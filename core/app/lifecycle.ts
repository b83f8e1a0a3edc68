/**
 * The lifecycle of installed apps: enable (genesis of cells that lack it, then start),
 * disable, uninstall (each service deletes its own rows of the app's cells), and deferred
 * membrane proofs.
 *
 * @module
 */
import { Effect } from "effect"
import { decode, encode } from "../codec/mod.ts"
import type { AgentPubKey, DnaHash } from "../hash/mod.ts"
import type { AppStatus } from "./app_info.ts"
import type { AppContext } from "./context.ts"
import { appError } from "./errors.ts"

/** Builds the lifecycle part of `Apps`. */
export function makeLifecycle(ctx: AppContext) {
  const {
    store,
    keystore,
    chain,
    ribosomeStore,
    updateStatus,
    deleteApp,
    rowOf,
    rolesOf,
    cellRows,
    attempt,
    appInfo,
    startCells,
    stopCells,
    transactionally,
    requireApp,
    checkIds,
    genesisMissing,
    dependentsOf,
    deleteCellData,
  } = ctx
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
    yield* Effect.logInfo(`enabled app "${appId}"`)
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
    yield* Effect.logInfo(`disabled app "${appId}"`)
  })

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
    yield* Effect.logInfo(`uninstalled app "${appId}"`)
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

  return { enable, disable, uninstall, provideMemproofs, enableAfterMemproofs }
}
