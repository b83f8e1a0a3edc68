/**
 * The zome-call workflow (`ZomeCalls`): everything between "call `fn` of `zome` in this cell
 * with this payload, as this provenance" and the returned bytes. In order: the cell must be
 * running and export the function; the provenance must be the chain author or hold a live
 * capability grant; `init` runs once per cell before its first call; then the function runs
 * (with nested `call_1`s), its writes are validated and committed in one transaction, and
 * `post_commit` is scheduled as background work. Calls are asynchronous: a guest may wait in a
 * host function and yields between fuel slices, so calls interleave. Interim rule until the
 * commit path takes its own per-cell lock: a call takes its cell's write lock (a semaphore) at
 * its first write (any host function that needs the workspace to write) and holds it until the
 * whole call tree has committed; the workspace is re-opened at the head it then finds. So
 * reading calls never wait, writing calls on one cell commit one after another, and calls on
 * different cells never wait for each other. A call tree re-enters the locks it holds (nested
 * `call_1`); waiting for a lock counts against the call's deadline.
 *
 * It does not know about websockets, HTTP or signatures over the wire; interfaces authenticate
 * the caller and hand over a provenance.
 *
 * @module
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Layer, Schema, Semaphore } from "effect"
import { Chain, type Workspace } from "../chain/mod.ts"
import { decodeUntrusted, encode, NIL } from "../codec/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { type AgentPubKey, bytesEqual, encodeHashB64 } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { actionsCommitted, zomeCallErrors, zomeCalls, zomeCallSeconds } from "../metrics/mod.ts"
import { cellIdKey, Cells, type RunningCell } from "../cell/mod.ts"
import {
  type CallTarget,
  type CapGrantInfo,
  type GuestOutcome,
  type HostCallContext,
  HostFnError,
  type HostFnServices,
  type NestedCallResult,
  Ribosome,
} from "../ribosome/mod.ts"
import { type CoordinatorZome, findZome } from "../ribosome_store/mod.ts"
import { Spaces } from "../space/mod.ts"
import { TaskManager } from "../task/mod.ts"
import { type CellId, grantAllows, type SignedAction, signedActionWire } from "../types/mod.ts"
import { Commits } from "./commit.ts"

/** Why a zome call failed. Interfaces map reasons to wire error variants. */
export class ZomeCallError extends Schema.TaggedError<ZomeCallError>()("ZomeCallError", {
  reason: Schema.Literals([
    "CellNotFound",
    "ZomeNotFound",
    "FunctionNotFound",
    "Unauthorized",
    "GuestError",
    "Trap",
    "InvalidCommit",
    "HeadMoved",
    "InitFailed",
    "DepthExceeded",
    "Internal",
  ]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

/** A zome call as an interface hands it over. */
export interface ZomeCallRequest {
  readonly cellId: CellId
  readonly zome: string
  readonly fn: string
  /** The caller's msgpack payload, passed to the guest unchanged. */
  readonly payload: Uint8Array
  /** Who is calling: the cell's agent, or a key a capability grant names. */
  readonly provenance: AgentPubKey
  readonly capSecret: Uint8Array | null
}

/** How deep `call_1` may nest. */
export const MAX_CALL_DEPTH = 16

/** What `ZomeCalls` offers. */
export interface ZomeCallsShape {
  /** Runs a zome call to completion; the output is the guest's msgpack, unchanged. */
  readonly call: (request: ZomeCallRequest) => Effect.Effect<Uint8Array, ZomeCallError>
  /** Runs `init` for a cell if it has not run yet (e.g. before granting a capability). */
  readonly ensureInit: (cellId: CellId) => Effect.Effect<void, ZomeCallError>
  /** Cells remembered as initialized; at most twice the running cells plus 64. */
  readonly initializedCount: () => number
  /**
   * Runs `effect` holding the cell's write lock (interim, until the commit path locks per cell
   * itself), so a write outside a zome call does not interleave with one.
   */
  readonly withCellWriteLock: <A, E, R>(
    cellId: CellId,
    effect: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | ZomeCallError, R>
}

interface PostCommitJob {
  readonly cell: RunningCell
  readonly zome: CoordinatorZome
  readonly actions: ReadonlyArray<SignedAction>
}

interface MetricRecord {
  readonly cell: string
  readonly zome: string
  readonly fn: string
  readonly outcome: string
  readonly seconds: number
  readonly committed: number
}

/** Callbacks: exported, but not callable from outside. */
const CALLBACKS: ReadonlySet<string> = new Set(["init", "post_commit", "validate", "entry_defs"])

/** The capability of a call by the chain's author. */
const CHAIN_AUTHOR: CapGrantInfo = { type: "chain_author" }

/** The zome or function label of a call to one that does not exist. */
const UNKNOWN_NAME = "(unknown)"

/** What one top-level call accumulates across its nested calls. */
interface CallState {
  readonly postCommits: Array<PostCommitJob>
  readonly metrics: Array<MetricRecord>
  /** `performance.now()` value past which the call tree stops (`ribosome.call_timeout_ms`). */
  readonly deadline: number
  /** Cells whose write lock this call tree holds. */
  readonly held: Set<string>
  /** Releases the locks taken with `takeLock`, when the call tree ends. */
  readonly releases: Array<Effect.Effect<void>>
}

/** A cell's write lock, and how many calls wait for it. */
interface CellLock {
  readonly semaphore: Semaphore.Semaphore
  waiting: number
}

/** A call's workspace on one cell; re-opened at the current head when the write lock is taken. */
interface WriteSlot {
  ws: Workspace
  /** True once the call tree holds the cell's write lock for it. */
  locked: boolean
}

const InitResult = Schema.Union([
  Schema.Struct({ type: Schema.Literal("pass") }),
  Schema.Struct({ type: Schema.Literal("fail"), reason: Schema.String }),
])
const decodeInitResult = Schema.decodeUnknownExit(InitResult)

/** Builds the workflow. */
export const makeZomeCalls = Effect.gen(function* () {
  const config = yield* ConductorConfig
  const cells = yield* Cells
  const chain = yield* Chain
  const spaces = yield* Spaces
  const keystore = yield* Keystore
  const ribosome = yield* Ribosome
  const tasks = yield* TaskManager
  const commits = yield* Commits
  const clock = yield* Clock.Clock
  const services = yield* Effect.context<HostFnServices>()
  // The running cells whose init is known to have run, by cell key. The value is the running
  // cell itself: a cell stopped and started again (disable and enable, or uninstall and install
  // with the same agent key, whose chain starts over) is a new object and is checked again, and
  // the entries of cells that stopped are swept once there are more than twice as many entries
  // as running cells, so cells coming and going cannot grow the map.
  const initialized = new Map<string, RunningCell>()
  const markInitialized = (key: string, cell: RunningCell) => {
    initialized.set(key, cell)
    if (initialized.size <= 2 * cells.all().length + 64) return
    for (const [k, c] of initialized) if (cells.get(c.cellId) !== c) initialized.delete(k)
  }
  // A cell's key, found through the cell object: a call builds no long key (hashKey per call).
  const cellKeys = new WeakMap<RunningCell, string>()
  const keyOfCell = (cell: RunningCell): string => {
    let key = cellKeys.get(cell)
    if (key === undefined) {
      key = cellIdKey(cell.cellId)
      cellKeys.set(cell, key)
    }
    return key
  }
  // Set once the keystore has been ready: later calls do not wait on its Deferred again.
  let keystoreReady = false
  const awaitKeystore: Effect.Effect<void, ZomeCallError> = Effect.suspend(() =>
    keystoreReady ? Effect.void : keystore.ready.pipe(
      Effect.mapError((e) => fail("Internal", e.message)),
      Effect.tap(() =>
        Effect.sync(() => {
          keystoreReady = true
        })
      ),
    )
  )
  const defaultFuel = BigInt(config.ribosome.fuel_per_call)
  const timeoutMs = config.ribosome.call_timeout_ms
  const cellLocks = new Map<string, CellLock>()

  const fail = (reason: ZomeCallError["reason"], detail: string) =>
    new ZomeCallError({ reason, detail })

  const newState = (): CallState => ({
    postCommits: [],
    metrics: [],
    deadline: ribosome.deadlineFromNow(),
    held: new Set(),
    releases: [],
  })

  const lockOf = (key: string): CellLock => {
    let lock = cellLocks.get(key)
    if (lock === undefined) {
      lock = { semaphore: Semaphore.makeUnsafe(1), waiting: 0 }
      cellLocks.set(key, lock)
    }
    return lock
  }

  /**
   * Waits for `lock` until the call's deadline; false when the deadline passed first. A free
   * lock nobody waits for is taken at once: the race with a timer (two fibers and a timeout
   * per call) is only for a lock that is held; waiters keep their order, since the fast path
   * is closed while anyone waits.
   */
  const acquire = (lock: CellLock, state: CallState): Effect.Effect<boolean> =>
    Effect.flatMap(
      lock.waiting === 0 ? lock.semaphore.takeIfAvailable(1) : Effect.succeed(false),
      (taken) => taken ? Effect.succeed(true) : waitFor(lock, state),
    )

  const waitFor = (lock: CellLock, state: CallState): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      lock.waiting++
      return Effect.timeoutOption(
        lock.semaphore.take(1),
        Duration.millis(Math.max(0, state.deadline - performance.now())),
      ).pipe(
        Effect.map((taken) => taken._tag === "Some"),
        Effect.ensuring(Effect.sync(() => {
          lock.waiting--
        })),
      )
    })

  const lockTimeout = (cell: RunningCell) =>
    fail(
      "Trap",
      `a call on cell ${cell.label} of app ${cell.appId} waited for the cell's write lock past its wall-clock deadline of ${timeoutMs} ms (ribosome.call_timeout_ms)`,
    )

  /** Takes the write lock of `cell` for the rest of the call tree (released by `releaseLocks`). */
  const takeLock = (cell: RunningCell, state: CallState): Effect.Effect<void, ZomeCallError> =>
    Effect.suspend(() => {
      const key = keyOfCell(cell)
      if (state.held.has(key)) return Effect.void
      const lock = lockOf(key)
      return Effect.flatMap(acquire(lock, state), (taken) => {
        if (!taken) return Effect.fail(lockTimeout(cell))
        state.held.add(key)
        state.releases.push(Effect.suspend(() => {
          state.held.delete(key)
          return lock.semaphore.release(1)
        }))
        return Effect.void
      })
    })

  const releaseLocks = (state: CallState): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (state.releases.length === 0) return Effect.void
      const releases = state.releases.splice(0, state.releases.length).reverse()
      return Effect.forEach(releases, (release) => release, { discard: true })
    })

  /** The write lock, then a workspace at the head it protects (before the call's first write). */
  const beginWrite = (
    cell: RunningCell,
    slot: WriteSlot,
    state: CallState,
  ): Effect.Effect<Workspace, HostFnError> =>
    Effect.suspend(() => {
      if (slot.locked) return Effect.succeed(slot.ws)
      return takeLock(cell, state).pipe(
        Effect.flatMap(() =>
          slot.ws.pending.length === 0 ? openChain(cell) : Effect.succeed(slot.ws)
        ),
        Effect.map((ws) => {
          slot.ws = ws
          slot.locked = true
          return ws
        }),
        Effect.mapError((e) =>
          new HostFnError({ kind: e.reason === "Trap" ? "limit" : "internal", detail: e.detail })
        ),
      )
    })

  /**
   * Runs `effect` holding the write lock of `cell` (re-entrant within one call tree). Waiting
   * for the lock counts against the call's deadline.
   */
  const withCellLock = <A, E, R>(
    cell: RunningCell,
    state: CallState,
    effect: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E | ZomeCallError, R> =>
    Effect.suspend(() => {
      const key = keyOfCell(cell)
      if (state.held.has(key)) return effect
      const lock = lockOf(key)
      return Effect.flatMap(
        acquire(lock, state),
        (taken): Effect.Effect<A, E | ZomeCallError, R> => {
          if (!taken) return Effect.fail(lockTimeout(cell))
          state.held.add(key)
          return effect.pipe(
            Effect.ensuring(Effect.suspend(() => {
              state.held.delete(key)
              return lock.semaphore.release(1)
            })),
          )
        },
      )
    })

  const authorize = (
    cell: RunningCell,
    provenance: AgentPubKey,
    capSecret: Uint8Array | null,
    zome: string,
    fn: string,
  ): Effect.Effect<CapGrantInfo, ZomeCallError> =>
    bytesEqual(provenance, cell.agent) ? Effect.succeed(CHAIN_AUTHOR) : Effect.gen(function* () {
      const grants = yield* Effect.mapError(
        spaces.grants(cell.dna.hash, cell.agent, false),
        (e) => fail("Internal", `cannot read capability grants: ${e.message}`),
      )
      for (const live of grants) {
        if (grantAllows(live.grant, { zome, fn, provenance, secret: capSecret })) {
          return {
            type: "grant",
            value: { tag: live.grant.tag, "action_hash": live.actionHash },
          } as const
        }
      }
      return yield* fail(
        "Unauthorized",
        `${
          encodeHashB64(provenance)
        } may not call ${zome}/${fn} on cell ${cell.label} of app ${cell.appId}: no capability grant allows it`,
      )
    })

  const commitWorkspace = (
    cell: RunningCell,
    ws: Workspace,
  ): Effect.Effect<ReadonlyArray<SignedAction>, ZomeCallError> =>
    ws.pending.length === 0 ? Effect.succeed([]) : Effect.gen(function* () {
      // The one commit workflow: lock the cell, check the head, validate, write chain + DHT +
      // outbox in one transaction (./commit.ts).
      const committed = yield* commits.commit(cell, ws).pipe(
        Effect.mapError((e) =>
          e._tag === "InvalidCommit"
            ? fail("InvalidCommit", e.detail)
            : fail(e.reason === "HeadMoved" ? "HeadMoved" : "Internal", e.detail)
        ),
      )
      return committed.map((p) => signedActionWire(p.record))
    })

  const openChain = (cell: RunningCell) =>
    Effect.mapError(
      chain.open(cell.dna.hash, cell.agent),
      (e) => fail("Internal", `cannot open the chain: ${e.message}`),
    )

  const guestFailure = (
    outcome: Exclude<GuestOutcome, { _tag: "Ok" }>,
    what: string,
  ): ZomeCallError => {
    switch (outcome._tag) {
      case "GuestError":
        return fail("GuestError", `${what}: ${outcome.message}`)
      case "Trap":
        return fail("Trap", outcome.message)
      case "FunctionNotFound":
        return fail("FunctionNotFound", outcome.message)
      case "LoadError":
        return fail("Internal", outcome.message)
      case "Unresolved":
        return fail(
          "GuestError",
          `${what}: unresolved dependencies ${outcome.hashes.map(encodeHashB64).join(", ")}`,
        )
    }
  }

  /** Runs the coordinators' `init` callbacks once per cell (the caller holds the cell's lock). */
  const ensureInitLocked = (
    cell: RunningCell,
    state: CallState,
  ): Effect.Effect<void, ZomeCallError> =>
    Effect.gen(function* () {
      const key = keyOfCell(cell)
      if (initialized.get(key) === cell) return
      const done = yield* Effect.mapError(
        chain.query(cell.dna.hash, cell.agent, {
          actionTypes: ["init_zomes_complete"],
          includeEntries: false,
        }),
        (e) => fail("Internal", `cannot read the chain: ${e.message}`),
      )
      if (done.length > 0) {
        markInitialized(key, cell)
        return
      }
      const ws = yield* openChain(cell)
      // The caller holds the cell's lock: init writes without taking it again.
      const slot: WriteSlot = { ws, locked: true }
      for (const zome of cell.dna.coordinators) {
        if (!ribosome.exports(zome, "init")) continue
        const ctx = contextFor(
          cell,
          zome,
          "init",
          "init",
          cell.agent,
          { type: "chain_author" },
          slot,
          0,
          state,
        )
        const outcome = yield* ribosome.call(ctx, "init", NIL)
        if (outcome._tag !== "Ok") {
          return yield* guestFailure(outcome, `init of ${zome.name} failed`)
        }
        let raw: unknown
        try {
          raw = decodeUntrusted(outcome.output)
        } catch {
          return yield* fail(
            "InitFailed",
            `init of ${zome.name} returned bytes that are not msgpack`,
          )
        }
        const result = decodeInitResult(raw)
        if (result._tag === "Failure") {
          return yield* fail("InitFailed", `init of ${zome.name} returned an unknown result`)
        }
        if (result.value.type === "fail") {
          return yield* fail("InitFailed", `init of ${zome.name} failed: ${result.value.reason}`)
        }
      }
      ws.append({ type: "init_zomes_complete" }, null)
      const committed = yield* Effect.mapError(
        commitWorkspace(cell, ws),
        (e) => fail("InitFailed", `init could not commit: ${e.detail}`),
      )
      state.metrics.push({
        cell: cell.label,
        zome: "",
        fn: "init",
        outcome: "ok",
        seconds: 0,
        committed: committed.length,
      })
      markInitialized(key, cell)
    })

  function contextFor(
    cell: RunningCell,
    zome: CoordinatorZome,
    fnName: string,
    kind: "zome_call" | "init" | "post_commit",
    provenance: AgentPubKey,
    capGrant: CapGrantInfo,
    slot: WriteSlot | null,
    depth: number,
    state: CallState,
  ): HostCallContext {
    const ctx: HostCallContext = {
      kind,
      cell,
      zome,
      fnName,
      provenance,
      capGrant,
      get workspace() {
        return slot === null ? null : slot.ws
      },
      depth,
      deadline: state.deadline,
      unresolved: [],
      call: (target, zomeName, fn, payload, capSecret) =>
        nestedCall(ctx, slot, target, zomeName, fn, payload, capSecret, state),
      ...(slot === null ? {} : { beginWrite: () => beginWrite(cell, slot, state) }),
    }
    return ctx
  }

  const nestedCall = (
    caller: HostCallContext,
    callerSlot: WriteSlot | null,
    target: CallTarget,
    zomeName: string,
    fn: string,
    payload: Uint8Array,
    capSecret: Uint8Array | null,
    state: CallState,
  ): Effect.Effect<NestedCallResult> =>
    Effect.gen(function* () {
      if (caller.depth + 1 > MAX_CALL_DEPTH) {
        return { type: "error", value: `call_1 nests deeper than ${MAX_CALL_DEPTH} calls` } as const
      }
      const budget = caller.meter?.remaining() ?? defaultFuel
      let targetCell: RunningCell | undefined
      if (target.type === "local") targetCell = cells.get(caller.cell.cellId)
      else if (target.type === "cell") targetCell = cells.get(target.value)
      else {
        targetCell = cells.byApp(caller.cell.appId).find((c) => c.label === target.value)
      }
      if (targetCell === undefined) {
        const what = target.type === "role"
          ? `role ${target.value} of app ${caller.cell.appId}`
          : "the target cell"
        return { type: "error", value: `${what} is not running` } as const
      }
      const sameCell = bytesEqual(targetCell.cellId[0], caller.cell.cellId[0]) &&
        bytesEqual(targetCell.cellId[1], caller.cell.cellId[1])
      if (sameCell && callerSlot !== null && caller.kind !== "post_commit") {
        // A call into the same cell shares the caller's writes and commits with it.
        const zome = targetCell.dna.coordinators.find((z) => z.name === zomeName)
        if (zome === undefined) {
          return { type: "error", value: `no coordinator zome ${zomeName}` } as const
        }
        if (!ribosome.exports(zome, fn)) {
          return { type: "error", value: `zome ${zomeName} has no function ${fn}` } as const
        }
        const mark = callerSlot.ws.pending.length
        const kind = caller.kind === "init" ? "init" : "zome_call"
        const ctx = contextFor(
          targetCell,
          zome,
          fn,
          kind,
          caller.cell.agent,
          { type: "chain_author" },
          callerSlot,
          caller.depth + 1,
          state,
        )
        const outcome = yield* ribosome.call(ctx, fn, payload, budget)
        caller.meter?.charge(outcome.fuelUsed)
        if (outcome._tag === "Ok") return { type: "ok", value: outcome.output } as const
        callerSlot.ws.truncate(mark)
        return {
          type: "error",
          value: guestFailure(outcome, `${zomeName}/${fn}`).detail,
        } as const
      }
      const result = yield* Effect.result(runCall(
        {
          cellId: targetCell.cellId,
          zome: zomeName,
          fn,
          payload,
          provenance: caller.cell.agent,
          capSecret,
        },
        caller.depth + 1,
        budget,
        state,
      ))
      if (result._tag === "Failure") {
        const error = result.failure
        return error.reason === "Unauthorized"
          ? { type: "unauthorized", value: error.detail } as const
          : { type: "error", value: error.detail } as const
      }
      caller.meter?.charge(result.success.fuelUsed)
      return { type: "ok", value: result.success.output } as const
    })

  /** The core of a zome call (top-level or a nested call into another cell). */
  const runCall = (
    request: ZomeCallRequest,
    depth: number,
    fuel: bigint,
    state: CallState,
  ): Effect.Effect<{ readonly output: Uint8Array; readonly fuelUsed: bigint }, ZomeCallError> =>
    Effect.suspend(() => {
      const started = clock.currentTimeNanosUnsafe()
      const cell = cells.get(request.cellId)
      if (cell === undefined) {
        return Effect.fail(fail(
          "CellNotFound",
          `cell [${encodeHashB64(request.cellId[0])}, ${
            encodeHashB64(request.cellId[1])
          }] is not running`,
        ))
      }
      // Names the caller made up are not labels: they would grow the metrics without bound.
      const record = (
        outcome: string,
        committed: number,
        zomeName = request.zome,
        fn = request.fn,
      ) =>
        state.metrics.push({
          cell: `${cell.appId}/${cell.label}`,
          zome: zomeName,
          fn,
          outcome,
          seconds: Number(clock.currentTimeNanosUnsafe() - started) / 1e9,
          committed,
        })
      const zome = findZome(cell.dna, request.zome)
      if (zome === undefined || zome.kind !== "coordinator") {
        record("zome_not_found", 0, UNKNOWN_NAME, UNKNOWN_NAME)
        return Effect.fail(
          fail("ZomeNotFound", `DNA ${cell.dna.name} has no coordinator zome ${request.zome}`),
        )
      }
      if (
        !ribosome.exports(zome, request.fn) ||
        CALLBACKS.has(request.fn)
      ) {
        record("function_not_found", 0, request.zome, UNKNOWN_NAME)
        return Effect.fail(
          fail("FunctionNotFound", `zome ${request.zome} has no callable function ${request.fn}`),
        )
      }
      // Plain callbacks rather than a generator: this runs once per call and per nested call.
      const authorized = bytesEqual(request.provenance, cell.agent)
        ? Effect.succeed(CHAIN_AUTHOR)
        : Effect.tapError(
          authorize(cell, request.provenance, request.capSecret, request.zome, request.fn),
          () => Effect.sync(() => record("unauthorized", 0)),
        )
      const opened = Effect.suspend(() =>
        // Once init has run for this cell object it never runs again: no lock needed to know.
        initialized.get(keyOfCell(cell)) === cell ? openChain(cell) : Effect.andThen(
          Effect.tapError(
            withCellLock(cell, state, ensureInitLocked(cell, state)),
            () => Effect.sync(() => record("init_failed", 0)),
          ),
          openChain(cell),
        )
      )
      const finished = (
        slot: WriteSlot,
        outcome: GuestOutcome,
      ): Effect.Effect<
        { readonly output: Uint8Array; readonly fuelUsed: bigint },
        ZomeCallError
      > => {
        if (outcome._tag !== "Ok") {
          record(
            outcome._tag === "Trap"
              ? `trap_${outcome.kind}`
              : outcome._tag === "GuestError"
              ? "guest_error"
              : "error",
            0,
          )
          return Effect.fail(guestFailure(outcome, `${request.zome}/${request.fn}`))
        }
        return commitWorkspace(cell, slot.ws).pipe(
          Effect.tapError((e) =>
            Effect.sync(() => record(e.reason === "InvalidCommit" ? "invalid" : "error", 0))
          ),
          Effect.map((committed) => {
            if (committed.length > 0 && ribosome.exports(zome, "post_commit")) {
              state.postCommits.push({ cell, zome, actions: committed })
            }
            record("ok", committed.length)
            return { output: outcome.output, fuelUsed: outcome.fuelUsed }
          }),
        )
      }
      return Effect.flatMap(authorized, (grant) =>
        Effect.flatMap(opened, (ws) => {
          const slot: WriteSlot = { ws, locked: false }
          const ctx = contextFor(
            cell,
            zome,
            request.fn,
            "zome_call",
            request.provenance,
            grant,
            slot,
            depth,
            state,
          )
          return Effect.flatMap(
            ribosome.call(ctx, request.fn, request.payload, fuel),
            (outcome) => finished(slot, outcome),
          )
        }))
    })

  // Metrics are recorded synchronously: through `Metric.update` they cost a tenth of a trivial
  // call (docs/decisions.md, "Hot path of a zome call").
  const recordMetrics = (state: CallState) => {
    for (const m of state.metrics) {
      const cell = { cell: m.cell }
      zomeCalls({ cell: m.cell, zome: m.zome, fn: m.fn, outcome: m.outcome })
        .updateUnsafe(1, services)
      zomeCallSeconds(cell).updateUnsafe(m.seconds, services)
      if (m.outcome !== "ok") {
        zomeCallErrors({ cell: m.cell, kind: m.outcome }).updateUnsafe(1, services)
      }
      if (m.committed > 0) actionsCommitted(cell).updateUnsafe(m.committed, services)
    }
  }

  /** Records the call's metrics and queues its post_commit callbacks. */
  const flush = (state: CallState): Effect.Effect<void> =>
    Effect.suspend(() => {
      recordMetrics(state)
      if (state.postCommits.length === 0) return Effect.void
      return Effect.forEach(state.postCommits, schedulePostCommit, { discard: true })
    })

  /** Runs one post_commit callback; a failure comes back as its message. */
  const runPostCommit = (job: PostCommitJob): Effect.Effect<void, string> =>
    Effect.gen(function* () {
      const state = newState()
      const cell = cells.get(job.cell.cellId)
      // A cell that stopped since the commit has nothing to notify.
      if (cell === undefined) return
      const ctx = contextFor(
        cell,
        job.zome,
        "post_commit",
        "post_commit",
        cell.agent,
        { type: "chain_author" },
        null,
        0,
        state,
      )
      const outcome = yield* ribosome.call(ctx, "post_commit", encode(job.actions))
      yield* flush(state)
      if (outcome._tag !== "Ok") {
        return yield* Effect.fail(guestFailure(outcome, "post_commit").detail)
      }
    })

  const subjectOf = (job: PostCommitJob) => `${job.cell.appId}/${job.cell.label}/${job.zome.name}`

  // Successful post_commits are cheap: commits queue them and one background task drains the
  // queue. A job that fails is handed to the TaskManager's full retry-with-backoff path.
  const postCommitQueue: Array<PostCommitJob> = []
  let drainScheduled = false

  const drainPostCommits: Effect.Effect<void> = Effect.gen(function* () {
    drainScheduled = false
    const jobs = postCommitQueue.splice(0, postCommitQueue.length)
    for (const job of jobs) {
      const exit = yield* Effect.exit(runPostCommit(job))
      if (Exit.isSuccess(exit)) {
        yield* tasks.recordOutcome(
          { kind: "post_commit", subject: subjectOf(job) },
          1,
          "succeeded",
          null,
        )
        continue
      }
      if (config.tasks.post_commit_retries === 0) {
        const detail = String(Cause.squash(exit.cause))
        yield* tasks.recordOutcome(
          { kind: "post_commit", subject: subjectOf(job) },
          1,
          "failed",
          detail,
        )
        continue
      }
      yield* tasks.submit({
        kind: "post_commit",
        subject: subjectOf(job),
        group: `cell:${cellIdKey(job.cell.cellId)}`,
        retries: config.tasks.post_commit_retries - 1,
        timeout: Duration.millis(config.tasks.post_commit_timeout_ms),
        run: Effect.sleep("100 millis").pipe(Effect.andThen(runPostCommit(job))),
      })
    }
  })

  const schedulePostCommit = (job: PostCommitJob): Effect.Effect<void> =>
    Effect.suspend(() => {
      postCommitQueue.push(job)
      if (drainScheduled) return Effect.void
      drainScheduled = true
      return tasks.submit({
        kind: "post_commit_drain",
        subject: "post_commit queue",
        group: "conductor",
        quiet: true,
        timeout: Duration.millis(config.tasks.post_commit_timeout_ms),
        // Yield first: a post_commit never sits inside the caller's latency (the forked task
        // starts after the caller's continuation, e.g. the response write, has run).
        run: Effect.yieldNow.pipe(Effect.andThen(drainPostCommits)),
      })
    })

  const call = (request: ZomeCallRequest): Effect.Effect<Uint8Array, ZomeCallError> =>
    Effect.flatMap(awaitKeystore, () => {
      const state = newState()
      // Locks are released and metrics recorded however the call ends (interrupted too).
      return runCall(request, 0, defaultFuel, state).pipe(
        Effect.onExit(() => Effect.andThen(releaseLocks(state), flush(state))),
        Effect.map((result) => result.output),
      )
    })

  const ensureInit = (cellId: CellId) =>
    Effect.gen(function* () {
      yield* awaitKeystore
      const cell = cells.get(cellId)
      if (cell === undefined) return yield* fail("CellNotFound", "the cell is not running")
      const state = newState()
      const result = yield* Effect.exit(withCellLock(cell, state, ensureInitLocked(cell, state)))
      yield* flush(state)
      yield* result
    })

  const withCellWriteLock = <A, E, R>(cellId: CellId, effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const cell = cells.get(cellId)
      if (cell === undefined) return Effect.fail(fail("CellNotFound", "the cell is not running"))
      return withCellLock(cell, newState(), effect)
    })

  return ZomeCalls.of({
    call,
    ensureInit,
    withCellWriteLock,
    initializedCount: () => initialized.size,
  })
})

/** The zome-call workflow. */
export class ZomeCalls
  extends Context.Service<ZomeCalls, ZomeCallsShape>()("conductor/workflow/ZomeCalls") {
  static readonly layer = Layer.effect(ZomeCalls, makeZomeCalls)
}
