/**
 * The `TaskManager`: supervised background work (post-commit callbacks now; gossip, scheduled
 * calls and workload reconciliation later). Each task runs in a fiber held in one `FiberMap`,
 * under a group (`conductor`, `dna:<hash>`, `cell:<dna>:<agent>`) that can be cancelled as a
 * whole, with a timeout per attempt and exponential-backoff retries; its outcome is recorded in
 * the `task_outcomes` table, as a metric and in the log. Shutdown interrupts every task. It
 * decides how work runs, never what the work is.
 *
 * @module
 */
import {
  Cause,
  Context,
  Duration,
  Effect,
  Exit,
  FiberMap,
  Layer,
  Metric,
  Schedule,
  Schema,
} from "effect"
import { tasksFinished } from "../metrics/mod.ts"
import { Store } from "../store/mod.ts"
import { nowMicros } from "../time/mod.ts"

/** Outcomes kept in memory for `recent`; older ones are read from the database. */
const RECENT_OUTCOMES = 1000

/** A task attempt that did not finish in time. */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  afterMs: Schema.Number,
}) {
  override get message(): string {
    return `timed out after ${this.afterMs} ms`
  }
}

/** A piece of supervised work. */
export interface TaskSpec {
  /** What kind of work this is (`post_commit`); a metric label. */
  readonly kind: string
  /** What it is about (a cell and zome, for example); recorded with the outcome. */
  readonly subject: string
  /** The group that owns it (`cell:<dna>:<agent>`). */
  readonly group: string
  readonly run: Effect.Effect<void, unknown>
  /** Retries after the first attempt. @default 0 */
  readonly retries?: number
  /** Limit per attempt. @default 30 seconds */
  readonly timeout?: Duration.Input
  /**
   * Record no outcome for this task: for a task that drains a queue and records the outcome of
   * each item itself (`recordOutcome`). @default false
   */
  readonly quiet?: boolean
}

/** A finished task. */
export interface TaskOutcome {
  readonly kind: string
  readonly subject: string
  readonly attempts: number
  readonly outcome: "succeeded" | "failed" | "interrupted"
  readonly detail: string | null
  readonly finishedAt: number
}

/** What the TaskManager offers. */
export interface TaskManagerShape {
  /** Starts a task in the background; returns at once. */
  readonly submit: (task: TaskSpec) => Effect.Effect<void>
  /** Interrupts every running task of a group. */
  readonly cancelGroup: (group: string) => Effect.Effect<void>
  /** Waits until no task is running (tests and orderly shutdown). */
  readonly awaitIdle: Effect.Effect<void>
  /** Running task count. */
  readonly running: Effect.Effect<number>
  /** The most recent outcomes, newest first. */
  readonly recent: (limit: number) => ReadonlyArray<TaskOutcome>
  /** Records the outcome of work done inside a quiet task (one item of a drained queue). */
  readonly recordOutcome: (
    work: { readonly kind: string; readonly subject: string },
    attempts: number,
    outcome: TaskOutcome["outcome"],
    detail: string | null,
  ) => Effect.Effect<void>
}

/** Supervised background work. */
export class TaskManager
  extends Context.Service<TaskManager, TaskManagerShape>()("conductor/task/TaskManager") {
  static readonly layer = Layer.effect(
    TaskManager,
    Effect.gen(function* () {
      const store = yield* Store
      const fibers = yield* FiberMap.make<string, void, never>()
      const insert = store.prepare(
        "INSERT INTO task_outcomes (kind, subject, attempts, outcome, detail, finished_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      const select = store.prepare(
        "SELECT kind, subject, attempts, outcome, detail, finished_at FROM task_outcomes ORDER BY id DESC LIMIT ?",
      )
      const prune = store.prepare(
        "DELETE FROM task_outcomes WHERE id <= (SELECT max(id) - 10000 FROM task_outcomes)",
      )
      let next = 0
      // Outcomes are kept in memory at once and written to the database in batches: one
      // transaction (one fsync) per second at most, instead of one per task.
      const recentOutcomes: Array<TaskOutcome> = []
      const unsaved: Array<TaskOutcome> = []
      const flush = Effect.suspend(() => {
        if (unsaved.length === 0) return Effect.void
        const batch = unsaved.splice(0, unsaved.length)
        return Effect.try(() =>
          store.transaction(() => {
            for (const o of batch) {
              insert.run(o.kind, o.subject, o.attempts, o.outcome, o.detail, o.finishedAt)
            }
            prune.run()
          })
        ).pipe(Effect.catch((cause) => Effect.logError("cannot record task outcomes", cause)))
      })
      yield* Effect.addFinalizer(() => flush)
      yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced("1 second")))

      const finished = (kind: string, outcome: string) => tasksFinished({ kind, outcome })

      const record = (
        task: { readonly kind: string; readonly subject: string },
        attempts: number,
        outcome: TaskOutcome["outcome"],
        detail: string | null,
      ) =>
        Effect.gen(function* () {
          const finishedAt = yield* nowMicros
          const done: TaskOutcome = {
            kind: task.kind,
            subject: task.subject,
            attempts,
            outcome,
            detail,
            finishedAt,
          }
          recentOutcomes.unshift(done)
          if (recentOutcomes.length > RECENT_OUTCOMES) recentOutcomes.length = RECENT_OUTCOMES
          unsaved.push(done)
          yield* Metric.update(finished(task.kind, outcome), 1)
          if (outcome === "failed") {
            yield* Effect.logWarning(
              `${task.kind} task for ${task.subject} failed after ${attempts} attempt(s): ${detail}`,
            )
          }
        })

      const submit = (task: TaskSpec) =>
        Effect.gen(function* () {
          const key = `${task.group}#${next++}`
          const timeoutMs = Duration.toMillis(
            Duration.fromInputUnsafe(task.timeout ?? "30 seconds"),
          )
          let attempts = 0
          const attempt = Effect.suspend(() => {
            attempts++
            return task.run.pipe(
              Effect.timeoutOrElse({
                duration: Duration.millis(timeoutMs),
                orElse: () => Effect.fail(new TaskTimeout({ afterMs: timeoutMs })),
              }),
            )
          })
          const supervised = attempt.pipe(
            Effect.retry({
              schedule: Schedule.exponential("100 millis"),
              times: task.retries ?? 0,
            }),
            // onExit runs even when the task is interrupted, so every outcome is recorded.
            Effect.onExit((exit) =>
              task.quiet
                ? Effect.void
                : Exit.isSuccess(exit)
                ? record(task, attempts, "succeeded", null)
                : record(
                  task,
                  attempts,
                  Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failed",
                  String(Cause.squash(exit.cause)),
                )
            ),
            Effect.exit,
            Effect.asVoid,
          )
          yield* FiberMap.run(fibers, key, supervised)
        })

      const cancelGroup = (group: string) =>
        Effect.gen(function* () {
          for (const [key] of [...fibers]) {
            if (key.startsWith(`${group}#`)) yield* FiberMap.remove(fibers, key)
          }
        })

      return TaskManager.of({
        submit,
        recordOutcome: record,
        cancelGroup,
        awaitIdle: FiberMap.awaitEmpty(fibers),
        running: FiberMap.size(fibers),
        recent: (limit) =>
          limit <= recentOutcomes.length
            ? recentOutcomes.slice(0, limit)
            : (Effect.runSync(flush),
              select.all(limit) as Array<{
                kind: string
                subject: string
                attempts: number
                outcome: TaskOutcome["outcome"]
                detail: string | null
                "finished_at": number
              }>).map((row) => ({
                kind: row.kind,
                subject: row.subject,
                attempts: row.attempts,
                outcome: row.outcome,
                detail: row.detail,
                finishedAt: row.finished_at,
              })),
      })
    }),
  )
}
