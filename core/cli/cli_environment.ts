/**
 * What `effect/cli` needs to run the `conductor` command, and how it prints: help on stdout,
 * a usage error as `conductor: <what is wrong>` on stderr with a pointer to the command's
 * `--help`, the version as the bare number. Only `--help` and `--version` are global flags
 * (`effect/cli`'s wizard, completions and log-level flags are left out: the log level is a
 * `conductor.yaml` key).
 *
 * @module
 */
import { Console, Effect, FileSystem, Layer, Path, Stdio, Terminal } from "effect"
import { CliConfig, CliError, CliOutput, GlobalFlag } from "effect/cli"
import { ChildProcessSpawner } from "effect/process"

const formatter = CliOutput.defaultFormatter({ colors: false })

/** The `conductor: …` text of a usage error, naming the help to read. */
export function usageErrorText(
  commandPath: ReadonlyArray<string>,
  errors: ReadonlyArray<{ readonly message: string }>,
): string {
  const lines = errors.map((e) => `conductor: ${e.message}`)
  return `${lines.join("\n")}\n(${commandPath.join(" ")} --help shows the usage)`
}

const presenter: CliOutput.Presenter = {
  present: (event) => {
    switch (event._tag) {
      case "Help":
        return Console.log(formatter.formatHelpDoc(event.helpDoc))
      case "InvalidInvocation":
        return Console.error(usageErrorText(event.commandPath, event.errors))
      case "Version":
        return Console.log(event.version)
    }
  },
}

/**
 * The services `Command.runWith` requires. The conductor's commands read no file flags, show no
 * prompts and spawn no processes, so the file system is `effect`'s no-op one and the terminal
 * and process spawner die if anything asks them for input or a child.
 */
export const CliEnvironment = Layer.mergeAll(
  FileSystem.layerNoop({}),
  Path.layer,
  Stdio.layerTest({}),
  Layer.succeed(
    Terminal.Terminal,
    Terminal.make({
      columns: Effect.succeed(100),
      rows: Effect.succeed(24),
      size: Effect.die("conductor: the command line does not watch the terminal size"),
      readInput: Effect.die("conductor: the command line reads no terminal input"),
      readLine: Effect.die("conductor: the command line reads no terminal input"),
      display: (text) => Console.log(text),
    }),
  ),
  Layer.succeed(
    ChildProcessSpawner.ChildProcessSpawner,
    ChildProcessSpawner.make(() => Effect.die("conductor: the command line spawns no process")),
  ),
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
  CliOutput.layerPresenter(presenter),
)

/**
 * Whether a failure is `effect/cli`'s "help was shown" (`--help`, or a usage error the presenter
 * already printed): `"help"` exits 0, `"usage"` exits 1, anything else is the command's own.
 */
export function cliOutcome(error: unknown): "help" | "usage" | "other" {
  if (!CliError.isCliError(error) || error._tag !== "ShowHelp") return "other"
  return error.errors.length === 0 ? "help" : "usage"
}
