/**
 * The zome-call workflow (`ZomeCalls`): everything between "call `fn` of `zome` in this cell
 * with this payload, as this provenance" and the returned bytes. In order: the cell must be
 * running and export the function; the provenance must be the chain author or hold a live
 * capability grant; `init` runs once per cell before its first call; then the function runs
 * (with nested `call_1`s), its writes are validated and committed in one transaction, and
 * `post_commit` is scheduled as background work. Everything after the keystore is ready runs
 * synchronously, so no other call can interleave with a commit.
 *
 * It does not know about websockets, HTTP or signatures over the wire; interfaces authenticate
 * the caller and hand over a provenance.
 *
 * @module
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Layer, Schema } from "effect"
import { Chain, ChainError, type Workspace } from "../chain/mod.ts"
import { decodeUntrusted, encode, NIL } from "../codec/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { type AgentPubKey, bytesEqual, encodeHashB64 } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { actionsCommitted, zomeCallErrors, zomeCalls, zomeCallSeconds } from "../metrics/mod.ts"
import { cellIdKey, Cells, type RunningCell } from "../cell/mod.ts"
import type {
  CallTarget,
  CapGrantInfo,
  HostCallContext,
  NestedCallResult,
} from "../ribosome/context.ts"
import { type GuestOutcome, Ribosome } from "../ribosome/ribosome.ts"
import type { HostFnServices } from "../ribosome/host_fn/host_fn.ts"
import { type CoordinatorZome, findZome } from "../ribosome_store/mod.ts"
import { Spaces } from "../space/mod.ts"
import { TaskManager } from "../task/mod.ts"
import { type CellId, grantAllows, type SignedAction, signedActionWire } from "../types/mod.ts"
import { Commits } from "./commit.ts"
import { InvalidCommit } from "./validation.ts"

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

/** The zome or function label of a call to one that does not exist. */
const UNKNOWN_NAME = "(unknown)"

/** What one top-level call accumulates across its nested calls. */
interface CallState {
  readonly postCommits: Array<PostCommitJob>
  readonly metrics: Array<MetricRecord>
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
  const runSync = Effect.runSyncExitWith(services)
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
  const defaultFuel = BigInt(config.ribosome.fuel_per_call)

  const fail = (reason: ZomeCallError["reason"], detail: string) =>
    new ZomeCallError({ reason, detail })

  /** Runs a synchronous Effect inside the sync section; failures come back as values. */
  const sync = <A, E>(effect: Effect.Effect<A, E, HostFnServices>): A | E | ZomeCallError => {
    const exit = runSync(effect)
    if (Exit.isSuccess(exit)) return exit.value
    const error = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (error !== undefined && error._tag === "Fail") return error.error
    return fail(
      "Internal",
      `internal error: ${
        exit.cause.reasons.map((r) => (r._tag === "Die" ? String(r.defect) : r._tag)).join("; ")
      }`,
    )
  }

  const authorize = (
    cell: RunningCell,
    provenance: AgentPubKey,
    capSecret: Uint8Array | null,
    zome: string,
    fn: string,
  ): CapGrantInfo | ZomeCallError => {
    if (bytesEqual(provenance, cell.agent)) return { type: "chain_author" }
    const grants = sync(spaces.grants(cell.dna.hash, cell.agent, false))
    if (!Array.isArray(grants)) {
      return fail("Internal", `cannot read capability grants: ${String(grants)}`)
    }
    for (const live of grants) {
      if (grantAllows(live.grant, { zome, fn, provenance, secret: capSecret })) {
        return { type: "grant", value: { tag: live.grant.tag, "action_hash": live.actionHash } }
      }
    }
    return fail(
      "Unauthorized",
      `${
        encodeHashB64(provenance)
      } may not call ${zome}/${fn} on cell ${cell.label} of app ${cell.appId}: no capability grant allows it`,
    )
  }

  const commitWorkspace = (
    cell: RunningCell,
    ws: Workspace,
  ): ReadonlyArray<SignedAction> | ZomeCallError => {
    if (ws.pending.length === 0) return []
    // The one commit workflow: lock the cell, check the head, validate, write chain + DHT +
    // outbox in one transaction (./commit.ts).
    const committed = sync(commits.commit(cell, ws))
    if (committed instanceof InvalidCommit) return fail("InvalidCommit", committed.detail)
    if (committed instanceof ChainError) {
      return fail(committed.reason === "HeadMoved" ? "HeadMoved" : "Internal", committed.detail)
    }
    if (committed instanceof ZomeCallError) return committed
    return committed.map((p) => signedActionWire(p.record))
  }

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

  /** Runs the coordinators' `init` callbacks once per cell (sync). */
  const ensureInitSync = (cell: RunningCell, state: CallState): void | ZomeCallError => {
    const key = cellIdKey(cell.cellId)
    if (initialized.get(key) === cell) return
    const done = sync(
      chain.query(cell.dna.hash, cell.agent, {
        actionTypes: ["init_zomes_complete"],
        includeEntries: false,
      }),
    )
    if (!Array.isArray(done)) return fail("Internal", `cannot read the chain: ${String(done)}`)
    if (done.length > 0) {
      markInitialized(key, cell)
      return
    }
    const ws = sync(chain.open(cell.dna.hash, cell.agent))
    if (!(ws instanceof Object && "pending" in ws)) {
      return fail("Internal", `cannot open the chain: ${String(ws)}`)
    }
    for (const zome of cell.dna.coordinators) {
      if (!ribosome.exports(zome, "init")) continue
      const ctx = contextFor(
        cell,
        zome,
        "init",
        "init",
        cell.agent,
        { type: "chain_author" },
        ws,
        0,
        state,
      )
      const outcome = ribosome.call(ctx, "init", NIL)
      if (outcome._tag !== "Ok") return guestFailure(outcome, `init of ${zome.name} failed`)
      let raw: unknown
      try {
        raw = decodeUntrusted(outcome.output)
      } catch {
        return fail("InitFailed", `init of ${zome.name} returned bytes that are not msgpack`)
      }
      const result = decodeInitResult(raw)
      if (result._tag === "Failure") {
        return fail("InitFailed", `init of ${zome.name} returned an unknown result`)
      }
      if (result.value.type === "fail") {
        return fail("InitFailed", `init of ${zome.name} failed: ${result.value.reason}`)
      }
    }
    ws.append({ type: "init_zomes_complete" }, null)
    const committed = commitWorkspace(cell, ws)
    if (committed instanceof ZomeCallError) {
      return fail("InitFailed", `init could not commit: ${committed.detail}`)
    }
    state.metrics.push({
      cell: cell.label,
      zome: "",
      fn: "init",
      outcome: "ok",
      seconds: 0,
      committed: committed.length,
    })
    markInitialized(key, cell)
  }

  function contextFor(
    cell: RunningCell,
    zome: CoordinatorZome,
    fnName: string,
    kind: "zome_call" | "init" | "post_commit",
    provenance: AgentPubKey,
    capGrant: CapGrantInfo,
    workspace: Workspace | null,
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
      workspace,
      depth,
      unresolved: [],
      call: (target, zomeName, fn, payload, capSecret) =>
        nestedCall(ctx, target, zomeName, fn, payload, capSecret, state),
    }
    return ctx
  }

  const nestedCall = (
    caller: HostCallContext,
    target: CallTarget,
    zomeName: string,
    fn: string,
    payload: Uint8Array,
    capSecret: Uint8Array | null,
    state: CallState,
  ): NestedCallResult => {
    if (caller.depth + 1 > MAX_CALL_DEPTH) {
      return { type: "error", value: `call_1 nests deeper than ${MAX_CALL_DEPTH} calls` }
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
      return { type: "error", value: `${what} is not running` }
    }
    const sameCell = bytesEqual(targetCell.cellId[0], caller.cell.cellId[0]) &&
      bytesEqual(targetCell.cellId[1], caller.cell.cellId[1])
    if (sameCell && caller.workspace !== null && caller.kind !== "post_commit") {
      // A call into the same cell shares the caller's writes and commits with it.
      const zome = targetCell.dna.coordinators.find((z) => z.name === zomeName)
      if (zome === undefined) return { type: "error", value: `no coordinator zome ${zomeName}` }
      if (!ribosome.exports(zome, fn)) {
        return { type: "error", value: `zome ${zomeName} has no function ${fn}` }
      }
      const mark = caller.workspace.pending.length
      const kind = caller.kind === "init" ? "init" : "zome_call"
      const ctx = contextFor(
        targetCell,
        zome,
        fn,
        kind,
        caller.cell.agent,
        { type: "chain_author" },
        caller.workspace,
        caller.depth + 1,
        state,
      )
      const outcome = ribosome.call(ctx, fn, payload, budget)
      caller.meter?.charge(outcome.fuelUsed)
      if (outcome._tag === "Ok") return { type: "ok", value: outcome.output }
      caller.workspace.truncate(mark)
      return { type: "error", value: guestFailure(outcome, `${zomeName}/${fn}`).detail }
    }
    const result = runCall(
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
    )
    if (result instanceof ZomeCallError) {
      return result.reason === "Unauthorized"
        ? { type: "unauthorized", value: result.detail }
        : { type: "error", value: result.detail }
    }
    caller.meter?.charge(result.fuelUsed)
    return { type: "ok", value: result.output }
  }

  /** The synchronous core of a zome call. */
  const runCall = (
    request: ZomeCallRequest,
    depth: number,
    fuel: bigint,
    state: CallState,
  ): { readonly output: Uint8Array; readonly fuelUsed: bigint } | ZomeCallError => {
    const started = clock.currentTimeNanosUnsafe()
    const cell = cells.get(request.cellId)
    if (cell === undefined) {
      return fail(
        "CellNotFound",
        `cell [${encodeHashB64(request.cellId[0])}, ${
          encodeHashB64(request.cellId[1])
        }] is not running`,
      )
    }
    // Names the caller made up are not labels: they would grow the metrics without bound.
    const record = (outcome: string, committed: number, zomeName = request.zome, fn = request.fn) =>
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
      return fail("ZomeNotFound", `DNA ${cell.dna.name} has no coordinator zome ${request.zome}`)
    }
    if (
      !ribosome.exports(zome, request.fn) ||
      ["init", "post_commit", "validate", "entry_defs"].includes(request.fn)
    ) {
      record("function_not_found", 0, request.zome, UNKNOWN_NAME)
      return fail("FunctionNotFound", `zome ${request.zome} has no callable function ${request.fn}`)
    }
    const grant = authorize(cell, request.provenance, request.capSecret, request.zome, request.fn)
    if (grant instanceof ZomeCallError) {
      record("unauthorized", 0)
      return grant
    }
    const init = ensureInitSync(cell, state)
    if (init instanceof ZomeCallError) {
      record("init_failed", 0)
      return init
    }
    const ws = sync(chain.open(cell.dna.hash, cell.agent))
    if (!(ws instanceof Object && "pending" in ws)) {
      return fail("Internal", `cannot open the chain: ${String(ws)}`)
    }
    const ctx = contextFor(
      cell,
      zome,
      request.fn,
      "zome_call",
      request.provenance,
      grant,
      ws,
      depth,
      state,
    )
    const outcome = ribosome.call(ctx, request.fn, request.payload, fuel)
    if (outcome._tag !== "Ok") {
      record(
        outcome._tag === "Trap"
          ? `trap_${outcome.kind}`
          : outcome._tag === "GuestError"
          ? "guest_error"
          : "error",
        0,
      )
      return guestFailure(outcome, `${request.zome}/${request.fn}`)
    }
    const committed = commitWorkspace(cell, ws)
    if (committed instanceof ZomeCallError) {
      record(committed.reason === "InvalidCommit" ? "invalid" : "error", 0)
      return committed
    }
    if (committed.length > 0 && ribosome.exports(zome, "post_commit")) {
      state.postCommits.push({ cell, zome, actions: committed })
    }
    record("ok", committed.length)
    return { output: outcome.output, fuelUsed: outcome.fuelUsed }
  }

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

  /** Runs one post_commit callback (synchronously); a failure comes back as its message. */
  const runPostCommit = (job: PostCommitJob): Effect.Effect<void, string> =>
    Effect.suspend(() => {
      const state: CallState = { postCommits: [], metrics: [] }
      const cell = cells.get(job.cell.cellId)
      // A cell that stopped since the commit has nothing to notify.
      if (cell === undefined) return Effect.void
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
      const outcome = ribosome.call(ctx, "post_commit", encode(job.actions))
      const done = flush(state)
      return outcome._tag === "Ok"
        ? done
        : Effect.andThen(done, Effect.fail(guestFailure(outcome, "post_commit").detail))
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

  const call = (request: ZomeCallRequest) =>
    Effect.gen(function* () {
      yield* Effect.mapError(keystore.ready, (e) => fail("Internal", e.message))
      const state: CallState = { postCommits: [], metrics: [] }
      const result = runCall(request, 0, defaultFuel, state)
      yield* flush(state)
      if (result instanceof ZomeCallError) return yield* result
      return result.output
    })

  const ensureInit = (cellId: CellId) =>
    Effect.gen(function* () {
      yield* Effect.mapError(keystore.ready, (e) => fail("Internal", e.message))
      const cell = cells.get(cellId)
      if (cell === undefined) return yield* fail("CellNotFound", "the cell is not running")
      const state: CallState = { postCommits: [], metrics: [] }
      const result = ensureInitSync(cell, state)
      yield* flush(state)
      if (result instanceof ZomeCallError) return yield* result
    })

  return ZomeCalls.of({ call, ensureInit, initializedCount: () => initialized.size })
})

/** The zome-call workflow. */
export class ZomeCalls
  extends Context.Service<ZomeCalls, ZomeCallsShape>()("conductor/workflow/ZomeCalls") {
  static readonly layer = Layer.effect(ZomeCalls, makeZomeCalls)
}
