/**
 * The `conductor` command line on `effect/cli`: the subcommands, their flags and arguments, and
 * each command's `--help`. `main.ts` loads this module for everything but a plain
 * `conductor run [--config FILE]`.
 *
 * ```
 * conductor run [--config FILE]           run (FILE, else ./conductor.yaml, else the embedded default)
 * conductor init [FILE] [--force]         write a commented config
 * conductor pack DIR [-o OUT]             build a .happ or .dna from a folder
 * conductor verify [--config FILE]        check every source chain in the data folder
 * conductor call [flags] APP ROLE ZOME FN [JSON]
 * ```
 *
 * @module
 */
import { Cause, Console, Effect, Exit, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { CALL_DESCRIPTION, callCommand } from "./call.ts"
import { CliEnvironment, cliOutcome } from "./cli_environment.ts"
import { initCommand } from "./init.ts"
import { packCommand } from "./pack.ts"
import { receptorCommand } from "./receptor.ts"
import { DEFAULT_CONFIG_FILE, runConductor, verifyConductor } from "./run.ts"

/** The version printed by `conductor --version`. */
export const VERSION = "0.1.0"

/** `--config FILE` (`-c`) of `run` and `verify`. */
export const configFlag = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("FILE"),
  Flag.withDescription(
    `the config file (default: ./${DEFAULT_CONFIG_FILE} if it exists, else the embedded default)`,
  ),
  Flag.optional,
)

const run = Command.make("run", { config: configFlag }, ({ config }) => runConductor(config)).pipe(
  Command.withShortDescription("Run the conductor until SIGINT or SIGTERM."),
  Command.withDescription(
    "Run the conductor: admin websocket, admin HTTP (health, metrics, /api, gateway) and the " +
      "app interfaces attached at runtime, until SIGINT or SIGTERM.",
  ),
  Command.withExamples([
    { command: "conductor run", description: "./conductor.yaml if present, else the defaults" },
    { command: "conductor run --config prod.yaml" },
  ]),
)

const init = Command.make("init", {
  file: Argument.String("FILE").pipe(
    Argument.withDescription("where to write it"),
    Argument.withDefault(DEFAULT_CONFIG_FILE),
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("overwrite FILE if it exists"),
    Flag.withDefault(false),
  ),
}, ({ file, force }) => initCommand(file, force)).pipe(
  Command.withDescription("Write a conductor.yaml with every key at its default, commented."),
)

const pack = Command.make("pack", {
  dir: Argument.String("DIR").pipe(
    Argument.withDescription("a folder with happ.yaml (→ .happ) or dna.yaml (→ .dna)"),
  ),
  out: Flag.String("out").pipe(
    Flag.withAlias("o"),
    Flag.withMetavar("OUT"),
    Flag.withDescription("the file to write (default: DIR/<name>.happ or .dna)"),
    Flag.optional,
  ),
}, ({ dir, out }) => packCommand(dir, Option.getOrUndefined(out))).pipe(
  Command.withDescription(
    "Pack a folder with happ.yaml or dna.yaml and its built .wasm zomes into a .happ or .dna.",
  ),
  Command.withExamples([{ command: "conductor pack examples/forum" }]),
)

const verify = Command.make(
  "verify",
  { config: configFlag },
  ({ config }) => verifyConductor(config),
).pipe(
  Command.withShortDescription("Check every source chain in the data folder offline."),
  Command.withDescription(
    "Check every source chain in the data folder offline (hashes, links, signatures, " +
      "sequence numbers, entries); exits 1 if any chain is damaged. Stop the conductor first.",
  ),
)

/** `--timeout MS`: whole milliseconds from 1 to one hour. */
const timeoutFlag = (description: string) =>
  Flag.Int("timeout").pipe(
    Flag.filter(
      (n) => n >= 1 && n <= 3_600_000,
      () => "a whole number of milliseconds from 1 to 3600000",
    ),
    Flag.withMetavar("MS"),
    Flag.withDescription(description),
    Flag.optional,
  )

const port = (name: string) =>
  Flag.Int(name).pipe(
    Flag.filter((n) => n >= 1 && n <= 65535, () => "a port from 1 to 65535"),
  )

const call = Command.make("call", {
  adminPort: port("admin-port").pipe(
    Flag.withDescription("admin websocket port (default 4444)"),
    Flag.optional,
  ),
  appPort: port("app-port").pipe(
    Flag.withDescription("use this app interface instead of looking one up"),
    Flag.optional,
  ),
  host: Flag.String("host").pipe(
    Flag.withDescription("conductor host (default localhost)"),
    Flag.optional,
  ),
  origin: Flag.String("origin").pipe(
    Flag.withDescription("Origin header on both websockets (default conductor-cli)"),
    Flag.optional,
  ),
  credentials: Flag.String("credentials").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription(
      "keep signing credentials in FILE (mode 0600) and reuse them: one capability grant " +
        "(all functions) per cell instead of one per call",
    ),
    Flag.optional,
  ),
  timeout: timeoutFlag("how long to wait for each answer, in ms (default 30000)"),
  appId: Argument.String("APP").pipe(Argument.withDescription("installed app id")),
  role: Argument.String("ROLE").pipe(Argument.withDescription('role name, or clone "ROLE.N"')),
  zome: Argument.String("ZOME").pipe(Argument.withDescription("zome name")),
  fn: Argument.String("FN").pipe(Argument.withDescription("function name")),
  payload: Argument.String("JSON").pipe(
    Argument.withDescription("the payload as JSON (default null)"),
    Argument.optional,
  ),
}, (o) =>
  callCommand({
    appId: o.appId,
    role: o.role,
    zome: o.zome,
    fn: o.fn,
    payload: Option.getOrUndefined(o.payload),
    host: Option.getOrUndefined(o.host),
    adminPort: Option.getOrUndefined(o.adminPort),
    appPort: Option.getOrUndefined(o.appPort),
    origin: Option.getOrUndefined(o.origin),
    credentialsFile: Option.getOrUndefined(o.credentials),
    timeoutMs: Option.getOrUndefined(o.timeout),
  })).pipe(
    Command.withDescription(CALL_DESCRIPTION),
    Command.withShortDescription("Call a zome function of a running conductor; print JSON."),
    Command.withExamples([{
      command:
        `conductor call --admin-port 4444 forum forum forum create_post '{"title":"hi","body":"…"}'`,
    }]),
  )

/** Flags every `conductor receptor` subcommand takes: where the conductor's HTTP API is. */
const receptorFlags = {
  url: Flag.String("url").pipe(
    Flag.withMetavar("URL"),
    Flag.withDescription("the conductor's HTTP endpoint (default http://127.0.0.1:4445)"),
    Flag.optional,
  ),
  config: Flag.String("config").pipe(
    Flag.withAlias("c"),
    Flag.withMetavar("FILE"),
    Flag.withDescription("read the HTTP address and http.admin_token from this conductor.yaml"),
    Flag.optional,
  ),
  timeout: timeoutFlag("how long to wait for the answer, in ms (default 30000)"),
}

function receptorRun(
  args: ReadonlyArray<string>,
  o: {
    readonly url: Option.Option<string>
    readonly config: Option.Option<string>
    readonly timeout: Option.Option<number>
  },
) {
  return receptorCommand({
    args,
    url: Option.getOrUndefined(o.url),
    config: Option.getOrUndefined(o.config),
    timeout: Option.match(o.timeout, { onNone: () => undefined, onSome: String }),
  })
}

const receptor = Command.make("receptor").pipe(
  Command.withShortDescription("Reach the receptors of a running conductor (admin HTTP API)."),
  Command.withSubcommands([
    Command.make("list", receptorFlags, (o) => receptorRun(["list"], o)).pipe(
      Command.withDescription("Every configured receptor and its health."),
    ),
    Command.make(
      "show",
      { ...receptorFlags, id: Argument.String("ID").pipe(Argument.withDescription("receptor id")) },
      (o) => receptorRun(["show", o.id], o),
    ).pipe(Command.withDescription("One receptor: its health and operations.")),
    Command.make("call", {
      ...receptorFlags,
      id: Argument.String("ID").pipe(Argument.withDescription("receptor id")),
      operation: Argument.String("OPERATION").pipe(Argument.withDescription("operation name")),
      payload: Argument.String("JSON").pipe(
        Argument.withDescription("the input as JSON (default null)"),
        Argument.optional,
      ),
    }, (o) =>
      receptorRun(
        ["call", o.id, o.operation, ...Option.toArray(o.payload)],
        o,
      )).pipe(
        Command.withDescription("Call an operation of a receptor; prints its JSON result."),
        Command.withExamples([{
          command: `conductor receptor call notes put '{"key":"greeting","value":"hello"}'`,
        }]),
      ),
  ]),
)

/** The `conductor` command and its subcommands. */
export const conductorCommand = Command.make("conductor").pipe(
  Command.withDescription(
    `conductor ${VERSION}: runs agent-centric apps (hApps) with WASM zomes. ` +
      "conductor COMMAND --help describes each command.",
  ),
  Command.withSubcommands([run, init, pack, verify, call, receptor]),
)

/**
 * Runs the command line. Help and usage errors are printed by the presenter; any other failure
 * becomes one `conductor: …` line on stderr. Fails (exit code 1) on usage errors and failures.
 */
export function runCommandLine(argv: ReadonlyArray<string>): Effect.Effect<void, unknown> {
  return Command.runWith(conductorCommand, { version: VERSION })(argv).pipe(
    Effect.provide(CliEnvironment),
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return Effect.void
      const error = Cause.squash(exit.cause)
      switch (cliOutcome(error)) {
        case "help":
          return Effect.void
        case "usage": // the presenter printed it
          return Effect.fail(error)
        case "other": {
          const message = error instanceof Error ? error.message : String(error)
          return Console.error(`conductor: ${message}`).pipe(Effect.andThen(Effect.fail(error)))
        }
      }
    }),
  )
}
