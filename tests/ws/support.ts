/**
 * In-process harness for websocket tests: the conductor's services over an in-memory store plus
 * the admin and app interfaces, on OS-chosen loopback ports. Faster than a subprocess, and lets a
 * test reach services directly and shorten the app authentication timeout.
 *
 * @module
 */
import { type Duration, Effect, Layer, ManagedRuntime } from "effect"
import { AdminInterfaces } from "../../core/admin/admin_interfaces.ts"
import { AppInterfaces, AppTokens, NonceWitness } from "../../core/app_interface/mod.ts"
import { conductorServices } from "../../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { Store } from "../../core/store/mod.ts"

/** Options of `makeInterfaceConductor`. */
export interface InterfaceConductorOptions {
  /** How long app connections have to authenticate. @default "10 seconds" */
  readonly authenticationTimeout?: Duration.Input
  /** `allowed_origins` of the admin interface. @default "*" */
  readonly adminOrigins?: string
}

/** The whole conductor with its websocket interfaces, in this process. */
export function makeInterfaceConductor(options: InterfaceConductorOptions = {}) {
  const config = ConductorConfig.fromYaml(
    `log: {level: error}\nadmin_interfaces: [{driver: {type: websocket, port: 0, allowed_origins: "${
      options.adminOrigins ?? "*"
    }"}}]\n`,
  )
  const interfaces = AdminInterfaces.layer.pipe(
    Layer.provideMerge(
      options.authenticationTimeout === undefined
        ? AppInterfaces.layer
        : AppInterfaces.layerWith({ authenticationTimeout: options.authenticationTimeout }),
    ),
    Layer.provideMerge(Layer.mergeAll(AppTokens.layer, NonceWitness.layer)),
    Layer.provideMerge(
      conductorServices({ store: Store.layerMemory, keystore: Keystore.layerTest() }),
    ),
    Layer.provideMerge(config),
  )
  return ManagedRuntime.make(interfaces)
}

/** The runtime type. */
export type InterfaceConductor = ReturnType<typeof makeInterfaceConductor>

/** The admin interface's port. */
export async function adminPort(conductor: InterfaceConductor): Promise<number> {
  return (await conductor.runPromise(Effect.service(AdminInterfaces))).ports[0]!
}
