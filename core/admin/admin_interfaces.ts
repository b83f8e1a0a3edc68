/**
 * The `AdminInterfaces` service: the admin websockets of `conductor.yaml` (`admin_interfaces`,
 * conductor-api.md §1.1, §2), opened when the conductor starts and closed when it stops. Each
 * accepts at most 400 connections (Holochain's limit) and answers `request` messages with the
 * admin dispatcher; `authenticate` and client signals are ignored on admin interfaces. A
 * listener that cannot open stops the conductor from starting, with the address in the error.
 *
 * @module
 */
import { Console, Context, Effect, Layer } from "effect"
import { ConductorConfig } from "../config/mod.ts"
import { makeAdminDispatch } from "./dispatch.ts"
import { listenerUrls, listenWebsocket } from "../wire/mod.ts"

/** Connections one admin interface accepts at once. */
export const MAX_ADMIN_CONNECTIONS = 400

/** What AdminInterfaces offers. */
export interface AdminInterfacesShape {
  /** The port of each configured admin interface, in config order. */
  readonly ports: ReadonlyArray<number>
}

/** The configured admin websockets. */
export class AdminInterfaces extends Context.Service<AdminInterfaces, AdminInterfacesShape>()(
  "conductor/admin/AdminInterfaces",
) {
  static readonly layer = Layer.effect(
    AdminInterfaces,
    Effect.gen(function* () {
      const config = yield* ConductorConfig
      const dispatch = yield* makeAdminDispatch
      const ports: Array<number> = []
      for (const { driver } of config.admin_interfaces) {
        const listener = yield* listenWebsocket<never>({
          name: "admin",
          port: driver.port,
          bind: driver.danger_bind_addr ?? null,
          allowedOrigins: driver.allowed_origins,
          maxConnections: MAX_ADMIN_CONNECTIONS,
          accept: (connection) => ({
            onMessage: (message) => {
              if (message.type === "request") connection.reply(message, dispatch(message.data))
            },
            onClose: () => {},
          }),
        })
        yield* Console.log(`admin websocket listening on ${listenerUrls(listener)}`)
        ports.push(listener.port)
      }
      return AdminInterfaces.of({ ports })
    }),
  )
}
