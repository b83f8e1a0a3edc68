/**
 * The `conductor` command: its subcommands (parsed by `effect/cli`, each with its own `--help`)
 * and the composition root. Everything else lives in `core/`.
 *
 * ```
 * conductor run [--config FILE]           run (FILE, else ./conductor.yaml, else the embedded default)
 * conductor init [FILE] [--force]         write a commented config
 * conductor pack DIR [-o OUT]             build a .happ or .dna from a folder
 * conductor verify [--config FILE]        check every source chain in the data folder
 * conductor call [options] APP ROLE ZOME FN [JSON]
 * ```
 *
 * @module
 */
import { Cause, Console, Context, Effect, Exit, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { AdminInterfaces } from "./core/admin/admin_interfaces.ts"
import { HttpAddress, HttpServerLayer } from "./core/admin/http_server.ts"
import { AppInterfaces, AppTokens, NonceWitness } from "./core/app_interface/mod.ts"
import { CALL_DESCRIPTION, callCommand } from "./core/cli/call.ts"
import { CliEnvironment, cliOutcome } from "./core/cli/cli_environment.ts"
import { initCommand } from "./core/cli/init.ts"
import { packCommand } from "./core/cli/pack.ts"
import { requireDatabase, verifyCommand } from "./core/cli/verify.ts"
import { conductorServices } from "./core/conductor/conductor_layer.ts"
import { checkPorts, ConductorConfig, EMBEDDED_DEFAULT } from "./core/config/mod.ts"
import { Chain } from "./core/chain/mod.ts"
import { Hasher } from "./core/hash/mod.ts"
import { Keystore } from "./core/keystore/mod.ts"
import { launcherGone } from "./core/runtime/launcher_watch.ts"
import { LoggingLayer } from "./core/runtime/logging.ts"
import { runMain } from "./core/runtime/run_main.ts"
import { Spaces } from "./core/space/mod.ts"
import { Store } from "./core/store/mod.ts"

/** The version printed by `conductor --version`. */
export const VERSION = "0.1.0"

/** The config file `run` and `verify` read when no `--config` is given, if it exists. */
const DEFAULT_CONFIG_FILE = "conductor.yaml"

/**
 * Prints one machine-readable line once every interface listens, for scripts and tests that
 * start the conductor with port 0: `conductor ready {"admin_ports":[…],"app_ports":[…],"http_port":…}`.
 */
const ReadyLayer = Layer.effectDiscard(Effect.gen(function* () {
  const http = yield* HttpAddress
  const admin = yield* AdminInterfaces
  const app = yield* AppInterfaces
  const ready = { "admin_ports": admin.ports, "app_ports": app.ports(), "http_port": http.port }
  yield* Console.log(`conductor ready ${JSON.stringify(ready)}`)
}))

/** `--config FILE`, else ./conductor.yaml when it exists, else the embedded default. */
function configLayer(flag: Option.Option<string>) {
  const file = Option.getOrUndefined(flag) ??
    (isFile(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  return file === undefined ? ConductorConfig.layerDefault : ConductorConfig.fromFile(file)
}

function isFile(file: string): boolean {
  try {
    return Deno.statSync(file).isFile
  } catch {
    return false
  }
}

const configFlag = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("FILE"),
  Flag.withDescription(
    `the config file (default: ./${DEFAULT_CONFIG_FILE} if it exists, else the embedded default)`,
  ),
  Flag.optional,
)

/**
 * `conductor run`: reads the config, checks its ports, then builds the conductor. Interfaces
 * listen first; the keystore finishes unlocking after, and a wrong passphrase then stops the
 * conductor with a clear error. Logs when it stops and when it has stopped.
 */
const runConductor = (config: Option.Option<string>) =>
  Effect.scoped(Effect.gen(function* () {
    const configContext = yield* Layer.build(configLayer(config))
    const resolved = Context.get(configContext, ConductorConfig)
    yield* Console.log(
      resolved.source === EMBEDDED_DEFAULT
        ? `config: embedded default (no ./${DEFAULT_CONFIG_FILE}; conductor init writes one)`
        : `config: ${resolved.source}`,
    )
    // A port another process holds fails here, before the data folder is created or written.
    yield* checkPorts(resolved)
    const logging = yield* Layer.build(
      LoggingLayer.pipe(Layer.provide(Layer.succeedContext(configContext))),
    )
    const logged = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideContext(effect, logging)
    // The first finalizer runs last: after every interface and the store have closed.
    yield* Effect.addFinalizer(() => logged(Effect.logInfo("conductor stopped")))
    const conductor = ReadyLayer.pipe(
      Layer.provideMerge(Layer.mergeAll(HttpServerLayer, AdminInterfaces.layer)),
      Layer.provideMerge(AppInterfaces.layer),
      Layer.provideMerge(Layer.mergeAll(AppTokens.layer, NonceWitness.layer)),
      Layer.provideMerge(conductorServices()),
      Layer.provide(Layer.succeedContext(Context.merge(configContext, logging))),
    )
    const context = yield* Layer.build(conductor)
    const running = Context.get(context, Keystore).ready.pipe(
      Effect.andThen(logged(Effect.logInfo("keystore unlocked"))),
      Effect.andThen(Effect.never),
      Effect.onInterrupt(() => logged(Effect.logInfo("conductor stopping: closing interfaces"))),
    )
    // `npx … task start &` then `kill $!` kills npx alone; its going away stops us too.
    const orphaned = launcherGone.pipe(
      Effect.flatMap((gone) =>
        logged(Effect.logInfo(
          `conductor stopping: process ${gone.pid} that launched it (${gone.command}) is gone`,
        ))
      ),
    )
    return yield* Effect.raceFirst(running, orphaned)
  }))

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
  ({ config }) =>
    Effect.scoped(Effect.gen(function* () {
      const configContext = yield* Layer.build(configLayer(config))
      const resolved = Context.get(configContext, ConductorConfig)
      // Verify reads an existing store; it never creates a data folder or a database.
      yield* requireDatabase(resolved.dataDirPath, resolved.source)
      const layer = Chain.layer.pipe(
        Layer.provideMerge(Spaces.layerLocal),
        Layer.provideMerge(Keystore.layer),
        Layer.provideMerge(Store.layer),
        Layer.provideMerge(Hasher.layer),
        Layer.provide(Layer.succeedContext(configContext)),
      )
      return yield* Effect.provide(verifyCommand, layer)
    })),
).pipe(
  Command.withShortDescription("Check every source chain in the data folder offline."),
  Command.withDescription(
    "Check every source chain in the data folder offline (hashes, links, signatures, " +
      "sequence numbers, entries); exits 1 if any chain is damaged. Stop the conductor first.",
  ),
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
  timeout: Flag.Int("timeout").pipe(
    Flag.filter(
      (n) => n >= 1 && n <= 3_600_000,
      () => "a whole number of milliseconds from 1 to 3600000",
    ),
    Flag.withMetavar("MS"),
    Flag.withDescription("how long to wait for each answer, in ms (default 30000)"),
    Flag.optional,
  ),
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

/** The `conductor` command and its subcommands. */
export const conductorCommand = Command.make("conductor").pipe(
  Command.withDescription(
    `conductor ${VERSION}: runs agent-centric apps (hApps) with WASM zomes. ` +
      "conductor COMMAND --help describes each command.",
  ),
  Command.withSubcommands([run, init, pack, verify, call]),
)

/** Runs the command line; a failure becomes one `conductor: …` line on stderr and exit code 1. */
function main(argv: ReadonlyArray<string>): Effect.Effect<void, unknown> {
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

if (import.meta.main) runMain(main(Deno.args), { disableErrorReporting: true })
