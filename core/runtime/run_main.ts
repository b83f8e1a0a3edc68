/**
 * `runMain`: runs the conductor's top-level Effect, turns SIGINT and SIGTERM into interruption
 * (every layer's finalizer runs, in reverse order), and exits with the program's exit code.
 * `@effect/platform-deno` is not on npm, so this is our own ~15-line version (style.md §2.4).
 *
 * @module
 */
import { Runtime } from "effect"

/** Runs a program as the process's main fiber. */
export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  const onSignal = () => fiber.interruptUnsafe(fiber.id)
  Deno.addSignalListener("SIGINT", onSignal)
  Deno.addSignalListener("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    Deno.removeSignalListener("SIGINT", onSignal)
    Deno.removeSignalListener("SIGTERM", onSignal)
    teardown(exit, (code) => Deno.exit(code))
  })
})
