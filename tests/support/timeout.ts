/**
 * Bounds for every wait in the tests: a step, a cleanup, a process exit, a socket close or a
 * condition. The bounds are generous (tens of seconds on a loaded machine): they turn a hang into
 * a failure that names what hung; they are not speed assertions, and nothing here measures how
 * fast anything is (that is `bench/`'s job).
 *
 * @module
 */

/** Bound of one test step (`step`). */
export const STEP_TIMEOUT_MS = 120_000
/** Bound of one cleanup action (closing a socket, stopping a process or a runtime). */
export const CLEANUP_TIMEOUT_MS = 30_000
/** Bound of `waitFor` unless told otherwise. */
export const WAIT_TIMEOUT_MS = 60_000

/** What `withTimeout` rejects with. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError"
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not finish within ${ms} ms`)
  }
}

/**
 * Settles like `promise`, or rejects with a `TimeoutError` naming `what` after `ms`. The timer is
 * cleared either way, so it never keeps a test alive.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** Runs `t.step(name, fn)` with `fn` bounded by `ms`. */
export function step(
  t: Deno.TestContext,
  name: string,
  fn: () => Promise<void>,
  ms: number = STEP_TIMEOUT_MS,
): Promise<boolean> {
  return t.step(name, () => withTimeout(fn(), ms, `step "${name}"`))
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** @default WAIT_TIMEOUT_MS */
  readonly timeoutMs?: number
  /** Pause between two checks. @default 20 */
  readonly intervalMs?: number
}

/**
 * Resolves with the first truthy value of `check`, polled until the deadline; then rejects with a
 * `TimeoutError` naming `what`. The way to wait for something that has no event of its own.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS
  const intervalMs = options.intervalMs ?? 20
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() >= deadline) throw new TimeoutError(`waiting for ${what}`, timeoutMs)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/**
 * Ends a child process: `signal`, then waits (bounded) for its status; if it has not exited,
 * SIGKILL and a second bounded wait. Resolves with the status of the first exit. Use `SIGKILL`
 * as `signal` to crash it on purpose.
 */
export async function stopProcess(
  child: Deno.ChildProcess,
  what: string,
  options: { readonly signal?: Deno.Signal; readonly graceMs?: number } = {},
): Promise<Deno.CommandStatus> {
  const graceMs = options.graceMs ?? CLEANUP_TIMEOUT_MS
  try {
    child.kill(options.signal ?? "SIGTERM")
  } catch {
    // Already exited: the status below says how.
  }
  try {
    return await withTimeout(
      child.status,
      graceMs,
      `${what} exiting after ${options.signal ?? "SIGTERM"}`,
    )
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error
    try {
      child.kill("SIGKILL")
    } catch {
      // It exited between the timeout and the kill.
    }
    await withTimeout(child.status, CLEANUP_TIMEOUT_MS, `${what} exiting after SIGKILL`)
    throw error
  }
}

/**
 * Runs every cleanup action, each bounded by `CLEANUP_TIMEOUT_MS`, even when an earlier one
 * fails; then rethrows the first failure.
 */
export async function cleanup(
  actions: ReadonlyArray<readonly [what: string, action: () => Promise<unknown>]>,
): Promise<void> {
  const failures: Array<unknown> = []
  for (const [what, action] of actions) {
    try {
      await withTimeout(Promise.resolve().then(action), CLEANUP_TIMEOUT_MS, what)
    } catch (error) {
      failures.push(error)
    }
  }
  if (failures.length > 0) throw failures[0]
}
