/**
 * The `Cells` registry: the cells that are running now (their app is enabled and, for clones,
 * the clone is enabled), by cell id and by app. Apps add and remove cells as they start and
 * stop; zome calls and interfaces look cells up here. It holds references only, no behaviour.
 *
 * @module
 */
import { Context, Layer } from "effect"
import { type AgentPubKey, type DnaHash, hashKey } from "../hash/mod.ts"
import type { CellRef } from "../ribosome/mod.ts"
import type { CellId } from "../types/mod.ts"

/** A running cell. */
export interface RunningCell extends CellRef {
  /** `role` for the provisioned cell, `role.N` for a clone: the metrics label and client name. */
  readonly label: string
  readonly cloneId: string | null
}

/** The registry key of a cell. */
export function cellKey(dna: DnaHash, agent: AgentPubKey): string {
  return hashKey(dna) + hashKey(agent)
}

/** The registry key of a cell id. */
export function cellIdKey(cellId: CellId): string {
  return cellKey(cellId[0], cellId[1])
}

/** What the registry offers; all synchronous. */
export interface CellsShape {
  readonly get: (cellId: CellId) => RunningCell | undefined
  readonly add: (cell: RunningCell) => void
  readonly remove: (cellId: CellId) => void
  readonly byApp: (appId: string) => ReadonlyArray<RunningCell>
  readonly all: () => ReadonlyArray<RunningCell>
}

/** Running cells. */
export class Cells extends Context.Service<Cells, CellsShape>()("conductor/cell/Cells") {
  static readonly layer = Layer.sync(Cells, () => {
    const cells = new Map<string, RunningCell>()
    return Cells.of({
      get: (cellId) => cells.get(cellIdKey(cellId)),
      add: (cell) => void cells.set(cellIdKey(cell.cellId), cell),
      remove: (cellId) => void cells.delete(cellIdKey(cellId)),
      byApp: (appId) => [...cells.values()].filter((c) => c.appId === appId),
      all: () => [...cells.values()],
    })
  })
}
