/**
 * The conductor's composition for the commands that open a data folder: `conductor run` (every
 * service, the interfaces and the ready line) and `conductor verify` (the store, keystore and
 * chains only). Which config: `--config FILE`, else `./conductor.yaml` when it exists, else the
 * embedded default. This module does not import `effect/cli`, so `main.ts` can start a plain
 * `conductor run` without loading the command-line parser.
 *
 * @module
 */
import { Console, Context, Effect, Layer, Option } from "effect"
import { AdminInterfaces, HttpAddress, HttpServerLayer } from "../admin/mod.ts"
import { AppInterfaces, AppTokens, NonceWitness } from "../app_interface/mod.ts"
import { Chain } from "../chain/mod.ts"
import { conductorServices } from "../conductor/mod.ts"
import { checkPorts, ConductorConfig, EMBEDDED_DEFAULT } from "../config/mod.ts"
import { Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { launcherGone, LoggingLayer } from "../runtime/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { requireDatabase, verifyCommand } from "./verify.ts"

/** The config file `run` and `verify` read when no `--config` is given, if it exists. */
export const DEFAULT_CONFIG_FILE = "conductor.yaml"

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

/**
 * `conductor run`: reads the config, checks its ports, then builds the conductor. Interfaces
 * listen first; the keystore finishes unlocking after, and a wrong passphrase then stops the
 * conductor with a clear error. Logs when it stops and when it has stopped.
 */
export const runConductor = (config: Option.Option<string>) =>
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

/** `conductor verify`: refuses a missing data folder or database, then checks every chain. */
export const verifyConductor = (config: Option.Option<string>) =>
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
  }))
