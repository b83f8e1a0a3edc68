/**
 * The `AppInterfaces` service: app websockets (conductor-api.md §2.3, §3, §4). It attaches
 * interfaces at runtime (`attach_app_interface`), stores them in the `app_interfaces` table and
 * opens them again on the same ports when the conductor restarts. On each connection it runs the
 * authentication handshake: the first message must be `authenticate` with a valid token within
 * 10 s, otherwise the connection is closed at once, sending nothing; it may send at most 64 KiB
 * before it has authenticated. An authenticated connection
 * is bound to the token's app: its requests go to the app dispatcher and it receives every signal
 * the app's cells emit.
 *
 * Signals (docs/decisions.md, "Slow signal consumers"): one subscription to `Signals` for the
 * whole conductor, taken when the first interface opens; each signal is encoded once and sent to every authenticated connection of its
 * app. A connection that does not read falls behind; past 8 MiB unsent its signals are dropped
 * (and past 128 MiB it is closed) by the transport, so it cannot grow the conductor's memory.
 *
 * @module
 */
import { Console, Context, type Duration, Effect, Exit, Layer, PubSub, Schema, Scope } from "effect"
import { type AppSignal, Signals } from "../signals/mod.ts"
import { Store } from "../store/mod.ts"
import {
  type ConnectionHandler,
  decodeAppAuthenticationRequest,
  decodeMsgpack,
  formatAllowedOrigins,
  listenerUrls,
  listenWebsocket,
  parseAllowedOrigins,
  type WebsocketListener,
  type WireConnection,
} from "../wire/mod.ts"
import { type AppDispatch, makeAppDispatch } from "./dispatch.ts"
import { makeSignalFrameEncoder } from "./signal_frame.ts"
import { AppTokens } from "./tokens.ts"

/** How long a new app connection has to authenticate (Holochain: 10 s). */
export const AUTHENTICATION_TIMEOUT: Duration.Input = "10 seconds"
/** Connections one app interface accepts at once. */
export const MAX_APP_CONNECTIONS = 4096
/** Bytes a connection may send before it has authenticated (an `authenticate` is ~100 bytes). */
export const MAX_UNAUTHENTICATED_BYTES = 64 * 1024

/** An app interface could not be attached. */
export class AppInterfaceError extends Schema.TaggedError<AppInterfaceError>()(
  "AppInterfaceError",
  {
    reason: Schema.Literals(["PortInUse", "ListenFailed", "Storage"]),
    detail: Schema.String,
  },
) {
  override get message(): string {
    return this.detail
  }
}

/** An app interface as `list_app_interfaces` reports it. */
export interface AppInterfaceInfo {
  readonly port: number
  readonly allowedOrigins: string
  /** The app the interface is bound to, or null for any app. */
  readonly installedAppId: string | null
  /** `danger_bind_addr`, or null for both loopback addresses. */
  readonly bind: string | null
}

/** What `attach` needs. */
export interface AttachRequest {
  /** 0 lets the OS choose. */
  readonly port: number
  readonly allowedOrigins: string
  readonly installedAppId: string | null
  readonly bind: string | null
}

/** What AppInterfaces offers. */
export interface AppInterfacesShape {
  /** Opens and stores an app interface; returns its port. */
  readonly attach: (request: AttachRequest) => Effect.Effect<number, AppInterfaceError>
  /** Every stored app interface, by port. */
  readonly list: () => Effect.Effect<ReadonlyArray<AppInterfaceInfo>, AppInterfaceError>
  /** Ports being served now. */
  readonly ports: () => ReadonlyArray<number>
  /** Authenticated connections now, per app. */
  readonly connections: () => ReadonlyMap<string, number>
}

interface InterfaceRow {
  readonly port: number
  readonly "allowed_origins": string
  readonly "installed_app_id": string | null
  readonly bind: string | null
}

/** Options of `AppInterfaces.layerWith`. */
export interface AppInterfacesOptions {
  /** @default AUTHENTICATION_TIMEOUT (10 seconds) */
  readonly authenticationTimeout?: Duration.Input
}

/** Builds the service: opens the stored interfaces and starts signal delivery. */
export const makeAppInterfaces = (options: AppInterfacesOptions = {}) =>
  Effect.gen(function* () {
    const authenticationTimeout = options.authenticationTimeout ?? AUTHENTICATION_TIMEOUT
    const store = yield* Store
    const tokens = yield* AppTokens
    const signals = yield* Signals
    const dispatch: AppDispatch = yield* makeAppDispatch
    const layerScope = yield* Effect.scope
    const run = Effect.runCallbackWith(yield* Effect.context<never>())
    const insertRow = store.prepare(
      "INSERT OR REPLACE INTO app_interfaces (port, allowed_origins, installed_app_id, bind) VALUES (?, ?, ?, ?)",
    )
    const selectRows = store.prepare(
      "SELECT port, allowed_origins, installed_app_id, bind FROM app_interfaces ORDER BY port",
    )
    const listeners = new Map<number, WebsocketListener>()
    const byApp = new Map<string, Set<WireConnection<never>>>()

    const storage = (operation: string, cause: unknown) =>
      new AppInterfaceError({
        reason: "Storage",
        detail: `${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      })

    const register = (appId: string, connection: WireConnection<never>) => {
      let set = byApp.get(appId)
      if (set === undefined) byApp.set(appId, set = new Set())
      set.add(connection)
    }
    const unregister = (appId: string, connection: WireConnection<never>) => {
      const set = byApp.get(appId)
      if (set === undefined) return
      set.delete(connection)
      if (set.size === 0) byApp.delete(appId)
    }

    /** The §4 handshake, then requests, for one connection of an interface. */
    const accept =
      (boundAppId: string | null) => (connection: WireConnection<never>): ConnectionHandler => {
        let appId: string | null = null
        const stopTimer = run(Effect.sleep(authenticationTimeout), {
          onExit: (exit) => {
            if (exit._tag === "Success" && appId === null) connection.close()
          },
        })
        const refuse = () => {
          stopTimer()
          connection.close()
        }
        return {
          onMessage: (message) => {
            if (appId !== null) {
              // `authenticate` again and client-sent signals are ignored once authenticated.
              if (message.type === "request") {
                connection.reply(message, dispatch(appId, message.data))
              }
              return
            }
            if (message.type !== "authenticate") return refuse()
            const raw = decodeMsgpack(message.data)
            if (raw._tag === "Failure") return refuse()
            const request = decodeAppAuthenticationRequest(raw.success)
            if (request._tag === "Failure") return refuse()
            const check = tokens.authenticate(request.value.token, boundAppId)
            if (check.type === "refused") return refuse()
            stopTimer()
            appId = check.appId
            connection.authenticated()
            register(appId, connection)
          },
          onClose: () => {
            stopTimer()
            if (appId !== null) unregister(appId, connection)
          },
        }
      }

    const open = (info: AppInterfaceInfo) =>
      Effect.gen(function* () {
        yield* startDelivery
        const scope = yield* Scope.fork(layerScope)
        const listener = yield* listenWebsocket<never>({
          name: "app",
          port: info.port,
          bind: info.bind,
          allowedOrigins: info.allowedOrigins,
          maxConnections: MAX_APP_CONNECTIONS,
          maxUnauthenticatedBytes: MAX_UNAUTHENTICATED_BYTES,
          accept: accept(info.installedAppId),
        }).pipe(
          Scope.provide(scope),
          Effect.mapError((e) =>
            new AppInterfaceError({
              reason: e.inUse ? "PortInUse" : "ListenFailed",
              detail: e.message,
            })
          ),
        )
        return { listener, scope }
      })

    const announce = (listener: WebsocketListener, info: AppInterfaceInfo) =>
      Console.log(
        `app websocket listening on ${listenerUrls(listener)}${
          info.installedAppId === null ? "" : ` (app ${info.installedAppId})`
        }`,
      )

    const attach = Effect.fn("AppInterfaces.attach")(function* (request: AttachRequest) {
      if (request.port !== 0 && listeners.has(request.port)) {
        return yield* new AppInterfaceError({
          reason: "PortInUse",
          detail: `port ${request.port} already serves an app interface`,
        })
      }
      const info: AppInterfaceInfo = {
        port: request.port,
        allowedOrigins: formatAllowedOrigins(parseAllowedOrigins(request.allowedOrigins)),
        installedAppId: request.installedAppId,
        bind: request.bind,
      }
      const { listener, scope } = yield* open(info)
      const stored = { ...info, port: listener.port }
      yield* Effect.try({
        try: () =>
          insertRow.run(stored.port, stored.allowedOrigins, stored.installedAppId, stored.bind),
        catch: (cause) => storage("AppInterfaces.attach", cause),
      }).pipe(Effect.tapError(() => Scope.close(scope, Exit.void)))
      listeners.set(listener.port, listener)
      yield* announce(listener, stored)
      return listener.port
    })

    const rows = () =>
      Effect.try({
        try: () => selectRows.all() as unknown as ReadonlyArray<InterfaceRow>,
        catch: (cause) => storage("AppInterfaces.list", cause),
      })

    const list = () =>
      Effect.map(rows(), (all) =>
        all.map((row): AppInterfaceInfo => ({
          port: row.port,
          allowedOrigins: row.allowed_origins,
          installedAppId: row.installed_app_id,
          bind: row.bind,
        })))

    /** Sends a batch of signals to the authenticated connections of their apps. */
    const signalFrame = makeSignalFrameEncoder()
    const deliver = (batch: ReadonlyArray<AppSignal>) => {
      for (const signal of batch) {
        const connections = byApp.get(signal.appId)
        if (connections === undefined) continue
        const frame = signalFrame(signal)
        for (const connection of connections) connection.sendSignal(frame)
      }
    }

    // Started by the first interface to open, before it listens: until then no connection can
    // receive a signal, and the conductor starts without the subscription's buffer (start-up
    // time: docs/benchmarks.md).
    const startDelivery = yield* Effect.cached(
      Effect.gen(function* () {
        const subscription = yield* signals.subscribe
        yield* Effect.forkIn(
          Effect.forever(Effect.map(PubSub.takeAll(subscription), deliver)),
          layerScope,
        )
      }).pipe(Scope.provide(layerScope)),
    )

    // Interfaces attached before the last shutdown open again on their ports.
    for (const info of yield* list()) {
      const opened = yield* Effect.exit(open(info))
      if (opened._tag === "Failure") {
        yield* Effect.logError(
          `app interface on port ${info.port} could not be opened again: ${opened.cause}`,
        )
        continue
      }
      listeners.set(info.port, opened.value.listener)
      yield* announce(opened.value.listener, info)
    }

    return AppInterfaces.of({
      attach,
      list,
      ports: () => [...listeners.keys()],
      connections: () => new Map([...byApp].map(([app, set]) => [app, set.size])),
    })
  })

/** App websocket interfaces. */
export class AppInterfaces extends Context.Service<AppInterfaces, AppInterfacesShape>()(
  "conductor/app_interface/AppInterfaces",
) {
  static readonly layer = Layer.effect(AppInterfaces, makeAppInterfaces())
  /** With non-default options (tests shorten the authentication timeout). */
  static readonly layerWith = (options: AppInterfacesOptions) =>
    Layer.effect(AppInterfaces, makeAppInterfaces(options))
}
