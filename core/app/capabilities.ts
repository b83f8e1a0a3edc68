/**
 * Admin-side capability grants (`Capabilities`): writing a grant to a cell's chain
 * (`grant_zome_call_capability`, which `authorizeSigningCredentials` uses), revoking one, and
 * listing an app's grants. A grant is an ordinary chain write: `init` runs first if it has not,
 * then the grant goes through the one commit workflow (`Commits`) like any zome call's writes. Grant checks on calls
 * are in the zome-call workflow.
 *
 * @module
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Apps } from "./apps.ts"
import { Cells } from "../cell/mod.ts"
import { Chain, type Workspace } from "../chain/mod.ts"
import { type ActionHash, bytesEqual, encodeHashB64 } from "../hash/mod.ts"
import { type LiveGrant, Spaces } from "../space/mod.ts"
import type { CapGrant, CellId, Entry } from "../types/mod.ts"
import { Commits, ZomeCalls } from "../workflow/mod.ts"

/** A grant operation that failed. */
export class CapabilityError extends Schema.TaggedError<CapabilityError>()("CapabilityError", {
  reason: Schema.Literals(["CellNotRunning", "NotFound", "Invalid", "Internal"]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

/** A grant as `list_capability_grants` reports it (secrets are never returned). */
export interface GrantInfo {
  readonly grant: CapGrant
  readonly actionHash: ActionHash
  readonly createdAt: number
  readonly revokedAt: number | null
}

/** What Capabilities offers. */
export interface CapabilitiesShape {
  /** Commits a grant to a running cell's chain; returns the grant's action hash. */
  readonly grant: (cellId: CellId, grant: CapGrant) => Effect.Effect<ActionHash, CapabilityError>
  /** Deletes (revokes) a grant by its action hash. */
  readonly revoke: (cellId: CellId, actionHash: ActionHash) => Effect.Effect<void, CapabilityError>
  /** Every grant of every cell of an app. */
  readonly list: (
    appId: string,
    includeRevoked: boolean,
  ) => Effect.Effect<ReadonlyArray<readonly [CellId, ReadonlyArray<GrantInfo>]>, CapabilityError>
}

/** Builds the service. */
export const makeCapabilities = Effect.gen(function* () {
  const cells = yield* Cells
  const chain = yield* Chain
  const spaces = yield* Spaces
  const commits = yield* Commits
  const zomeCalls = yield* ZomeCalls
  const apps = yield* Apps
  const error = (reason: CapabilityError["reason"], detail: string) =>
    new CapabilityError({ reason, detail })

  const running = (cellId: CellId) =>
    Effect.suspend(() => {
      const cell = cells.get(cellId)
      return cell === undefined
        ? Effect.fail(
          error(
            "CellNotRunning",
            `cell [${encodeHashB64(cellId[0])}, ${
              encodeHashB64(cellId[1])
            }] is not running (is its app enabled?)`,
          ),
        )
        : Effect.succeed(cell)
    })

  /** Appends one write to a cell's chain and commits it through the commit workflow. */
  const write = (cellId: CellId, append: (ws: Workspace) => ActionHash) =>
    Effect.gen(function* () {
      const cell = yield* running(cellId)
      yield* Effect.mapError(zomeCalls.ensureInit(cellId), (e) =>
        error("Internal", `init failed: ${e.detail}`))
      // The cell's write lock keeps zome calls from committing between open and commit (else
      // the commit workflow would refuse this write with HeadMoved).
      return yield* zomeCalls.withCellWriteLock(
        cellId,
        Effect.gen(function* () {
          const ws = yield* Effect.mapError(chain.open(cell.dna.hash, cell.agent), (e) =>
            error("Internal", e.message))
          const hash = append(ws)
          yield* Effect.mapError(
            commits.commit(cell, ws),
            (e) =>
              error(e._tag === "InvalidCommit" ? "Invalid" : "Internal", e.message),
          )
          return hash
        }),
      ).pipe(
        Effect.catchTag("ZomeCallError", (e) =>
          Effect.fail(error("Internal", e.detail))),
      )
    })

  const grant = (cellId: CellId, capGrant: CapGrant) =>
    write(cellId, (ws) => {
      const entry: Entry = { "entry_type": "cap_grant", entry: capGrant }
      return ws.append(
        { type: "create", "entry_type": { type: "cap_grant" }, "entry_hash": ws.entryHash(entry) },
        entry,
        true,
      )
        .record.action_hash
    })

  const revoke = (cellId: CellId, actionHash: ActionHash) =>
    Effect.gen(function* () {
      const cell = yield* running(cellId)
      const live = yield* Effect.mapError(spaces.grants(cell.dna.hash, cell.agent, false), (e) =>
        error("Internal", e.message))
      if (
        !live.some((g) =>
          bytesEqual(g.actionHash, actionHash)
        )
      ) {
        return yield* error(
          "NotFound",
          `cell has no live capability grant ${encodeHashB64(actionHash)}`,
        )
      }
      const target = yield* Effect.mapError(spaces.getAction(cell.dna.hash, actionHash), (e) =>
        error("Internal", e.message))
      if (target === null || target.action.type !== "create") {
        return yield* error("NotFound", "the grant's action is missing")
      }
      const deletesEntry = target.action.entry_hash
      yield* write(cellId, (ws) =>
        ws.append({
          type: "delete",
          "deletes_address": actionHash,
          "deletes_entry_address": deletesEntry,
        }, null).record
          .action_hash)
    })

  const list = (appId: string, includeRevoked: boolean) =>
    Effect.gen(function* () {
      const ids = apps.cellIds(appId)
      if (ids.length === 0 && apps.agentOf(appId) === undefined) {
        return yield* error("NotFound", `app "${appId}" is not installed`)
      }
      const out: Array<readonly [CellId, ReadonlyArray<GrantInfo>]> = []
      for (const cellId of ids) {
        const grants: ReadonlyArray<LiveGrant> = yield* Effect.mapError(
          spaces.grants(cellId[0], cellId[1], includeRevoked),
          (e) => error("Internal", e.message),
        )
        out.push([
          cellId,
          grants.map((g) => ({
            grant: g.grant,
            actionHash: g.actionHash,
            createdAt: g.createdAt,
            revokedAt: g.revokedAt,
          })),
        ])
      }
      return out
    })

  return Capabilities.of({ grant, revoke, list })
})

/** Admin-side capability grants. */
export class Capabilities
  extends Context.Service<Capabilities, CapabilitiesShape>()("conductor/app/Capabilities") {
  static readonly layer = Layer.effect(Capabilities, makeCapabilities)
}
