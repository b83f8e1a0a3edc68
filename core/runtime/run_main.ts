/**
 * `runMain`: runs the conductor's top-level Effect, turns SIGINT and SIGTERM into interruption
 * (every layer's finalizer runs, in reverse order), and exits with the program's exit code: 0
 * after a clean shutdown on a signal (what service managers expect), 1 after a failure.
 * `@effect/platform-deno` is not on npm, so this is our own short version (style.md §2.4).
 *
 * @module
 */
import { Cause, Exit, Runtime } from "effect"

/** Runs a program as the process's main fiber. */
export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  let signalled = false
  const onSignal = () => {
    signalled = true
    fiber.interruptUnsafe(fiber.id)
  }
  Deno.addSignalListener("SIGINT", onSignal)
  Deno.addSignalListener("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    Deno.removeSignalListener("SIGINT", onSignal)
    Deno.removeSignalListener("SIGTERM", onSignal)
    const clean = signalled && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
    teardown(exit, (code) => Deno.exit(clean ? 0 : code))
  })
})
