/**
 * The `conductor` command: argument parsing and the composition root. Everything else lives in
 * `core/`.
 *
 * ```
 * conductor run [--config conductor.yaml]     run (embedded default without --config)
 * conductor init [conductor.yaml] [--force]   write a commented config
 * conductor pack <dir> [-o out]               build a .happ or .dna from a folder
 * conductor verify [--config conductor.yaml]  check every source chain in the data folder
 * ```
 *
 * @module
 */
// First, before Effect loads: keeps long-lived fibers from leaking (core/runtime/async_context.ts).
import "./core/runtime/async_context.ts"
import { Cause, Console, Context, Effect, Exit, Layer } from "effect"
import { parseArgs } from "node:util"
import { AdminInterfaces } from "./core/admin/admin_interfaces.ts"
import { HttpAddress, HttpServerLayer } from "./core/admin/http_server.ts"
import { AppInterfaces, AppTokens, NonceWitness } from "./core/app_interface/mod.ts"
import { CALL_USAGE, callCommand } from "./core/cli/call.ts"
import { initCommand } from "./core/cli/init.ts"
import { packCommand } from "./core/cli/pack.ts"
import { verifyCommand } from "./core/cli/verify.ts"
import { conductorServices } from "./core/conductor/conductor_layer.ts"
import { ConductorConfig } from "./core/config/mod.ts"
import { Chain } from "./core/chain/mod.ts"
import { Hasher } from "./core/hash/mod.ts"
import { Keystore } from "./core/keystore/mod.ts"
import { LoggingLayer } from "./core/runtime/logging.ts"
import { runMain } from "./core/runtime/run_main.ts"
import { Spaces } from "./core/space/mod.ts"
import { Store } from "./core/store/mod.ts"

/** The version printed by `conductor --version`. */
export const VERSION = "0.1.0"

const USAGE = `conductor ${VERSION}: runs agent-centric apps (hApps) with WASM zomes

usage:
  conductor run [--config FILE]          run the conductor (embedded default without --config)
  conductor init [FILE] [--force]        write a commented conductor.yaml (default: ./conductor.yaml)
  conductor pack DIR [-o OUT]            pack a folder with happ.yaml or dna.yaml into a .happ or .dna
  conductor verify [--config FILE]       check every source chain in the data folder
  conductor call [options] APP ROLE ZOME FN [JSON]
                                         call a zome function of a running conductor through
                                         its websockets (conductor call --help for options)
  conductor --version | --help
`

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

/** An optional integer option in 1..max; an `Error` naming the option when it is not one. */
function positiveInt(name: string, text: string | undefined, max: number) {
  if (text === undefined) return undefined
  const n = Number(text)
  return Number.isInteger(n) && n >= 1 && n <= max
    ? n
    : new Error(`${name} must be a whole number from 1 to ${max}, not "${text}"`)
}

function configLayer(file: string | undefined) {
  return file === undefined ? ConductorConfig.layerDefault : ConductorConfig.fromFile(file)
}

function program(argv: ReadonlyArray<string>): Effect.Effect<void, unknown> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      out: { type: "string", short: "o" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
      // conductor call
      "admin-port": { type: "string" },
      "app-port": { type: "string" },
      host: { type: "string" },
      origin: { type: "string" },
      credentials: { type: "string" },
      timeout: { type: "string" },
    },
  })
  const [command, ...rest] = positionals
  if (values.version) return Console.log(VERSION)
  if (command === "call" && values.help) return Console.log(CALL_USAGE)
  if (values.help || command === undefined || command === "help") return Console.log(USAGE)
  switch (command) {
    case "run": {
      const conductor = ReadyLayer.pipe(
        Layer.provideMerge(Layer.mergeAll(HttpServerLayer, AdminInterfaces.layer)),
        Layer.provideMerge(AppInterfaces.layer),
        Layer.provideMerge(Layer.mergeAll(AppTokens.layer, NonceWitness.layer)),
        Layer.provideMerge(conductorServices()),
        Layer.provide(LoggingLayer),
      )
      // Interfaces listen first; the keystore's key derivation finishes in the background, and
      // a wrong passphrase then stops the conductor with a clear error.
      return Effect.scoped(Effect.gen(function* () {
        const context = yield* Layer.build(
          conductor.pipe(Layer.provideMerge(configLayer(values.config))),
        )
        yield* Context.get(context, Keystore).ready
        return yield* Effect.never
      }))
    }
    case "init":
      return initCommand(rest[0] ?? "conductor.yaml", values.force ?? false)
    case "pack":
      if (rest[0] === undefined) {
        return Effect.fail(new Error("pack needs a folder: conductor pack DIR"))
      }
      return packCommand(rest[0], values.out)
    case "verify": {
      const layer = Chain.layer.pipe(
        Layer.provideMerge(Spaces.layerLocal),
        Layer.provideMerge(Keystore.layer),
        Layer.provideMerge(Store.layer),
        Layer.provideMerge(Hasher.layer),
        Layer.provide(configLayer(values.config)),
      )
      return Effect.provide(verifyCommand, layer)
    }
    case "call": {
      const [appId, role, zome, fn, payload, ...extra] = rest
      if (fn === undefined || extra.length > 0) {
        return Effect.fail(new Error(`call needs APP ROLE ZOME FN [JSON]\n\n${CALL_USAGE}`))
      }
      const adminPort = positiveInt("--admin-port", values["admin-port"], 65535)
      const appPort = positiveInt("--app-port", values["app-port"], 65535)
      const timeoutMs = positiveInt("--timeout", values.timeout, 3_600_000)
      for (const n of [adminPort, appPort, timeoutMs]) if (n instanceof Error) return Effect.fail(n)
      return callCommand({
        appId: appId!,
        role: role!,
        zome: zome!,
        fn,
        payload,
        host: values.host,
        adminPort: adminPort as number | undefined,
        appPort: appPort as number | undefined,
        origin: values.origin,
        credentialsFile: values.credentials,
        timeoutMs: timeoutMs as number | undefined,
      })
    }
    default:
      return Effect.fail(new Error(`unknown command "${command}"\n\n${USAGE}`))
  }
}

/** Runs the command and turns any failure into one line on stderr and exit code 1. */
function main(argv: ReadonlyArray<string>): Effect.Effect<void, unknown> {
  return Effect.suspend(() => program(argv)).pipe(
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return Effect.void
      const error = Cause.squash(exit.cause)
      const message = error instanceof Error ? error.message : String(error)
      return Console.error(`conductor: ${message}`).pipe(Effect.andThen(Effect.fail(error)))
    }),
  )
}

if (import.meta.main) runMain(main(Deno.args), { disableErrorReporting: true })
