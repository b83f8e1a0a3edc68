/**
 * The `conductor` command. A plain `conductor run [--config FILE]` (how `deno task start`, the
 * tests and services start it) goes straight to the conductor; every other command line, help
 * included, is parsed by `effect/cli` in `core/cli/commands.ts`, loaded only then (it costs start-up
 * time the conductor does not need: docs/benchmarks.md). Everything else lives in `core/`.
 *
 * @module
 */
// First, before Effect loads: keeps long-lived fibers from leaking (core/runtime/async_context.ts).
import "./core/runtime/async_context.ts"
import { Console, Effect, Option } from "effect"
import { runConductor } from "./core/cli/run.ts"
import { isGuestWorker, startGuestWorker } from "./core/ribosome/worker/worker.ts"
import { runMain } from "./core/runtime/run_main.ts"

/**
 * The config flag of `argv` when it is exactly `run`, `run --config FILE`, `run -c FILE` or
 * `run --config=FILE`; `undefined` for anything else, which the full parser handles (and
 * `core/cli/commands_test.ts` checks that it reads these forms the same way).
 */
export function plainRun(argv: ReadonlyArray<string>): Option.Option<string> | undefined {
  const [command, flag, value, ...rest] = argv
  if (command !== "run" || rest.length > 0) return undefined
  if (flag === undefined) return Option.none()
  if (value === undefined && flag.startsWith("--config=") && flag.length > 9) {
    return Option.some(flag.slice(9))
  }
  if ((flag === "--config" || flag === "-c") && value !== undefined && !value.startsWith("-")) {
    return Option.some(value)
  }
  return undefined
}

/** Runs `argv`; a failure of a plain run becomes one `conductor: …` line on stderr. */
function main(argv: ReadonlyArray<string>): Effect.Effect<void, unknown> {
  const config = plainRun(argv)
  if (config === undefined) {
    return Effect.promise(() => import("./core/cli/commands.ts")).pipe(
      Effect.flatMap((cli) => cli.runCommandLine(argv)),
    )
  }
  return runConductor(config).pipe(
    Effect.tapError((error) =>
      Console.error(`conductor: ${error instanceof Error ? error.message : String(error)}`)
    ),
  )
}

// The bundle starts its guest workers (`ribosome.workers`) from this same script.
if (import.meta.main && isGuestWorker()) startGuestWorker()
else if (import.meta.main) runMain(main(Deno.args), { disableErrorReporting: true })
