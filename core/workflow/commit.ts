/**
 * The commit workflow (`Commits`): the one path by which anything is written to a source chain.
 * Zome calls (and their `init`), genesis and admin capability grants all end here. For one
 * cell at a time (a per-cell lock), it:
 *
 * 1. refuses a workspace whose base head moved since it was opened (`ChainError` `HeadMoved`:
 *    another commit won the race; nothing is written; see docs/decisions.md, "HeadMoved");
 * 2. validates the pending records (app validation through the integrity zomes; the records
 *    were hashed and signed by the workspace as they were appended);
 * 3. in ONE SQLite transaction writes the chain rows (`Chain.write`), integrates the records
 *    into the local DHT store (`Spaces.integrate`) and queues their DHT ops in the durable
 *    `Outbox` for the network;
 * 4. moves the cached head and returns the committed records, for the caller to queue
 *    `post_commit` (zome calls do; genesis and grants, as in Holochain, do not).
 *
 * @module
 */
import { Clock, Context, Effect, Layer, Semaphore } from "effect"
import { Chain, ChainError, type PendingRecord, type Workspace } from "../chain/mod.ts"
import { encodeHashB64, hashKey } from "../hash/mod.ts"
import { type CellRef, Ribosome } from "../ribosome/mod.ts"
import { Outbox, Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { clockMicros } from "../time/mod.ts"
import { type InvalidCommit, validatePending } from "./validation.ts"

/** What Commits offers. */
/** How a commit validates. */
export interface CommitOptions {
  /**
   * Run the validation callbacks on the spot, without waiting (genesis, inside its install
   * transaction: nothing may interleave with it).
   * @default false
   */
  readonly synchronous?: boolean
}

/** What `Commits` offers. */
export interface CommitsShape {
  /**
   * Validates and commits a workspace's pending records (see the module doc). Fails with
   * `InvalidCommit` (validation) or `ChainError` (`HeadMoved`, `Storage`); on failure nothing
   * was written.
   */
  readonly commit: (
    cell: CellRef,
    workspace: Workspace,
    options?: CommitOptions,
  ) => Effect.Effect<ReadonlyArray<PendingRecord>, InvalidCommit | ChainError>
  /** Drops a cell's lock (the cell was deleted). */
  readonly forget: (cell: Pick<CellRef, "cellId">) => void
}

/** Builds the workflow. */
export const makeCommits = Effect.gen(function* () {
  const store = yield* Store
  const chain = yield* Chain
  const spaces = yield* Spaces
  const outbox = yield* Outbox
  const ribosome = yield* Ribosome
  const clock = yield* Clock.Clock
  const locks = new Map<string, Semaphore.Semaphore>()
  const keyOf = (workspace: Workspace) => hashKey(workspace.dnaHash) + hashKey(workspace.agent)
  const lockOf = (workspace: Workspace) => {
    const key = keyOf(workspace)
    let lock = locks.get(key)
    if (lock === undefined) {
      lock = Semaphore.makeUnsafe(1)
      locks.set(key, lock)
    }
    return lock
  }

  const headMoved = (workspace: Workspace) =>
    new ChainError({
      reason: "HeadMoved",
      detail: `the chain of ${
        encodeHashB64(workspace.agent)
      } moved while this call ran; nothing was written`,
    })

  const write = (workspace: Workspace) =>
    Effect.try({
      try: () => {
        const now = clockMicros(clock)
        store.transaction(() => {
          const written = chain.write(workspace)
          spaces.integrate(workspace.dnaHash, written)
          outbox.enqueue(workspace.dnaHash, written, now)
        })
      },
      catch: (cause) =>
        cause instanceof ChainError ? cause : new ChainError({
          reason: "Storage",
          detail: `commit failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause,
        }),
    })

  // Untraced: a span per commit costs more than the rest of a small commit's Effect overhead
  // (docs/decisions.md, "Zome call hot path without per-step spans").
  const commit = Effect.fnUntraced(function* (
    cell: CellRef,
    workspace: Workspace,
    options: CommitOptions = {},
  ) {
    if (workspace.pending.length === 0) return []
    return yield* lockOf(workspace).withPermits(1)(Effect.gen(function* () {
      if (!chain.isCurrent(workspace)) return yield* headMoved(workspace)
      yield* Effect.provideService(
        validatePending(ribosome, cell, workspace, workspace.pending, options),
        Spaces,
        spaces,
      )
      yield* write(workspace)
      chain.advance(workspace)
      return [...workspace.pending]
    }))
  })

  return Commits.of({
    commit,
    forget: (cell) => void locks.delete(hashKey(cell.cellId[0]) + hashKey(cell.cellId[1])),
  })
})

/** The one commit workflow. */
export class Commits
  extends Context.Service<Commits, CommitsShape>()("conductor/workflow/Commits") {
  static readonly layer = Layer.effect(Commits, makeCommits)
}
