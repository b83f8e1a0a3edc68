/**
 * The websocket transport of the Conductor API (conductor-api.md §1), shared by admin and app
 * interfaces: a dual-stack listener (`127.0.0.1` and `::1` on the same port, or one
 * `danger_bind_addr`), the Origin check at the HTTP upgrade, framing, the msgpack envelope, pings,
 * connection and message limits, request concurrency and back-pressure. It owns "every request
 * gets exactly one response with its id". It does not know what a request means: a
 * `ConnectionHandler` decides that (admin dispatch, app authentication and dispatch).
 *
 * Limits and policies (docs/decisions.md, "Websocket limits"):
 * - a message may be at most 64 MiB; Deno's websocket closes a connection that sends more;
 * - an envelope that does not decode is ignored (no reply, the connection stays open);
 * - at most 128 requests of one connection run at once; more wait in a queue of at most 64 MiB,
 *   beyond which that connection is closed;
 * - a ping after 30 s of silence; a peer that sends nothing (not even the pong) for 60 s is
 *   closed. The clock runs on this process's event loop, which a running zome call blocks (guests
 *   run synchronously), so the deadline must outlast such a stall: with 5 s, a call emitting
 *   10,000 signals on a loaded machine held the loop long enough that an idle admin connection
 *   whose pong was already waiting was closed ("No response from ping frame");
 * - signals are dropped for a connection whose unsent backlog is above 8 MiB, and a connection
 *   whose backlog passes 128 MiB (it never reads) is closed, so a slow client cannot grow memory.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { encode } from "../codec/mod.ts"
import { decodeMsgpack, decodeWireMessage, errorPayload, type WireMessage } from "./api.ts"

/** Largest message accepted (Holochain's default; Deno's websocket enforces the same). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
/**
 * Seconds of silence before a ping; a peer silent for twice as long (no pong) is closed. Long
 * enough that a stall of this process (a long zome call on a busy machine) is not taken for a
 * dead peer; short enough that a vanished peer's slot is reclaimed within a minute.
 */
export const PING_INTERVAL_SECONDS = 30
/** Requests of one connection that run concurrently (Holochain: 128). */
export const MAX_IN_FLIGHT = 128
/** Bytes of requests one connection may have waiting beyond `MAX_IN_FLIGHT`. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024
/** Unsent bytes above which signals to that connection are dropped. */
export const SIGNAL_BACKLOG_BYTES = 8 * 1024 * 1024
/** Unsent bytes above which the connection is closed: its peer does not read. */
export const MAX_BACKLOG_BYTES = 128 * 1024 * 1024

/** A listener could not be opened. */
export class WebsocketListenError
  extends Schema.TaggedError<WebsocketListenError>()("WebsocketListenError", {
    address: Schema.String,
    port: Schema.Number,
    /** True when another process (or interface) holds the port. */
    inUse: Schema.Boolean,
    detail: Schema.String,
  }) {
  override get message(): string {
    return `cannot listen on ${this.address} port ${this.port}: ${this.detail}`
  }
}

/** `allowed_origins` parsed (conductor-api.md §1.1): `"*"` or a comma-separated exact list. */
export type OriginPolicy =
  | { readonly type: "any" }
  | { readonly type: "list"; readonly origins: ReadonlySet<string> }

/** Parses `allowed_origins`. */
export function parseAllowedOrigins(text: string): OriginPolicy {
  if (text.trim() === "*") return { type: "any" }
  const origins = text.split(",").map((o) => o.trim()).filter((o) => o.length > 0)
  return { type: "list", origins: new Set(origins) }
}

/** The `allowed_origins` string of a policy (list order is the set's order). */
export function formatAllowedOrigins(policy: OriginPolicy): string {
  return policy.type === "any" ? "*" : [...policy.origins].join(",")
}

/** True when `origin` may connect. */
export function originAllowed(policy: OriginPolicy, origin: string): boolean {
  return policy.type === "any" || policy.origins.has(origin)
}

/** A `request` message. */
export type RequestMessage = Extract<WireMessage, { readonly type: "request" }>

/** One accepted websocket, as a handler sees it; `R` are the services its requests need. */
export interface WireConnection<R> {
  /** Unique per process, for logs. */
  readonly id: number
  /** The peer's address. */
  readonly remote: string
  /**
   * Runs `handle` for `request` and sends its success value as the response payload (the inner
   * msgpack document). A defect becomes an `internal_error` response. Concurrency-limited.
   */
  readonly reply: (request: RequestMessage, handle: Effect.Effect<Uint8Array, never, R>) => void
  /** Sends an encoded `signal` frame unless the peer is too far behind; false when dropped. */
  readonly sendSignal: (frame: Uint8Array) => boolean
  /** Closes the connection at once (no close status, as Holochain). */
  readonly close: () => void
  /** True until the connection closes. */
  readonly isOpen: () => boolean
}

/** What a connection does with the messages it receives. */
export interface ConnectionHandler {
  /** Every decoded envelope, in arrival order. */
  readonly onMessage: (message: WireMessage) => void
  /** Once, when the connection has closed (for any reason). */
  readonly onClose: () => void
}

/** Options of `listenWebsocket`. */
export interface ListenOptions<R> {
  /** `admin` or `app`, for logs. */
  readonly name: string
  /** 0 lets the OS choose (on IPv4; the same port is then taken on IPv6). */
  readonly port: number
  /** One address to bind instead of both loopbacks (`danger_bind_addr`). */
  readonly bind: string | null
  readonly allowedOrigins: string
  readonly maxConnections: number
  /** Called for every accepted connection, before any message arrives. */
  readonly accept: (connection: WireConnection<R>) => ConnectionHandler
}

/** An open listener. */
export interface WebsocketListener {
  readonly port: number
  /** The addresses actually bound. */
  readonly addresses: ReadonlyArray<string>
  /** Connections open now. */
  readonly connections: () => number
}

const textEncoder = new TextEncoder()
let nextConnectionId = 1

/** Encodes a `response` envelope. */
export function responseFrame(id: number, payload: Uint8Array): Uint8Array {
  return encode({ type: "response", id, data: payload })
}

/** `ws://` URLs of a listener, for humans. */
export function listenerUrls(listener: WebsocketListener): string {
  return listener.addresses
    .map((address) => `ws://${address.includes(":") ? `[${address}]` : address}:${listener.port}`)
    .join(" and ")
}

/** Decodes one frame into an envelope, or undefined when it is not one (then it is ignored). */
export function decodeFrame(data: unknown): WireMessage | undefined {
  const bytes = typeof data === "string"
    ? textEncoder.encode(data)
    : data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : undefined
  if (bytes === undefined) return undefined
  // Not msgpack: Holochain ignores the frame and keeps the connection.
  const value = decodeMsgpack(bytes)
  if (value._tag === "Failure") return undefined
  // The shape every request has, checked by hand first: this runs for every message.
  const message = value.success as { type?: unknown; id?: unknown; data?: unknown } | null
  if (
    message?.type === "request" && Number.isSafeInteger(message.id) &&
    (message.id as number) >= 0 && message.data instanceof Uint8Array
  ) {
    return { type: "request", id: message.id as number, data: message.data }
  }
  const exit = decodeWireMessage(value.success)
  return exit._tag === "Success" ? exit.value : undefined
}

const internalErrorPayload = (detail: string) => encode(errorPayload("internal_error", detail))

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * Opens a websocket listener that lives as long as the scope. Connections are closed when the
 * scope closes.
 */
export const listenWebsocket = <R>(options: ListenOptions<R>) =>
  Effect.gen(function* () {
    const policy = parseAllowedOrigins(options.allowedOrigins)
    const allowedText = formatAllowedOrigins(policy)
    const sockets = new Set<WebSocket>()
    const run = Effect.runCallbackWith(yield* Effect.context<R>())
    const logWarning = (message: string) => void run(Effect.logWarning(message))
    const logError = (message: string) => void run(Effect.logError(message))

    const handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("this is a Conductor API websocket endpoint", { status: 400 })
      }
      const origin = request.headers.get("origin")
      if (origin === null) return new Response("Missing `Origin` header", { status: 400 })
      if (!originAllowed(policy, origin)) {
        return new Response(`Origin ${origin} is not allowed`, {
          status: 400,
          headers: { "access-control-allow-origin": allowedText },
        })
      }
      if (sockets.size >= options.maxConnections) {
        return new Response("too many connections", { status: 503 })
      }
      // Read before the upgrade: the request's connection info is gone afterwards.
      const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`
      let upgraded: { socket: WebSocket; response: Response }
      try {
        // Deno pings after half the idle timeout and closes a peer silent for all of it.
        upgraded = Deno.upgradeWebSocket(request, { idleTimeout: 2 * PING_INTERVAL_SECONDS })
      } catch (cause) {
        return new Response(`websocket upgrade failed: ${describe(cause)}`, { status: 400 })
      }
      const { socket, response } = upgraded
      sockets.add(socket)
      socket.binaryType = "arraybuffer"
      serveConnection(socket, remote, options, run, () => sockets.delete(socket), {
        logWarning,
        logError,
      })
      return response
    }

    const addresses = options.bind === null ? ["127.0.0.1", "::1"] : [options.bind]
    const servers: Array<Deno.HttpServer<Deno.NetAddr>> = []
    const serve = (hostname: string, port: number) =>
      Deno.serve({
        hostname,
        port,
        onListen: () => {},
        onError: () => new Response(null, { status: 500 }),
      }, handler)
    const shutdownServers = Effect.suspend(() =>
      Effect.forEach(servers.splice(0), (server) => Effect.promise(() => server.shutdown()), {
        discard: true,
      })
    )
    const closeAll = Effect.suspend(() => {
      // Sockets still upgrading are dropped by the server shutdown itself.
      for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.close()
      return shutdownServers
    })
    const bound: Array<string> = []
    const port = yield* Effect.acquireRelease(
      Effect.gen(function* () {
        // With port 0 the OS picks one on the first address; it may be taken on the second, so
        // a few picks are tried.
        const attempts = options.port === 0 && addresses.length > 1 ? 5 : 1
        for (let attempt = 1;; attempt++) {
          const first = yield* Effect.try({
            try: () => serve(addresses[0]!, options.port),
            catch: (cause) =>
              new WebsocketListenError({
                address: addresses[0]!,
                port: options.port,
                inUse: cause instanceof Deno.errors.AddrInUse,
                detail: describe(cause),
              }),
          })
          servers.push(first)
          bound.push(addresses[0]!)
          const chosen = first.addr.port
          let retry = false
          for (const address of addresses.slice(1)) {
            const next = yield* Effect.exit(Effect.try({
              try: () => serve(address, chosen),
              catch: (cause) => cause,
            }))
            if (next._tag === "Success") {
              servers.push(next.value)
              bound.push(address)
              continue
            }
            const cause = next.cause.reasons[0]
            const error = cause?._tag === "Fail" ? cause.error : undefined
            if (error instanceof Deno.errors.AddrInUse && attempt < attempts) {
              retry = true
              break
            }
            // A host without IPv6 (or without that address) still serves the other one.
            yield* Effect.logWarning(
              `${options.name} websocket: not listening on ${address} port ${chosen}: ${
                describe(error)
              }`,
            )
          }
          if (!retry) return chosen
          yield* shutdownServers
          bound.length = 0
        }
      }),
      () => closeAll,
    )
    return {
      port,
      addresses: bound,
      connections: () => sockets.size,
    } satisfies WebsocketListener
  })

/** Wires one upgraded socket to its handler. */
function serveConnection<R>(
  socket: WebSocket,
  remote: string,
  options: ListenOptions<R>,
  run: ReturnType<typeof Effect.runCallbackWith<R>>,
  forget: () => void,
  log: { readonly logWarning: (m: string) => void; readonly logError: (m: string) => void },
): void {
  const { logWarning, logError } = log
  let open = true
  let inFlight = 0
  let queuedBytes = 0
  let droppedSignals = 0
  const queue: Array<() => void> = []

  const close = () => {
    if (socket.readyState === WebSocket.OPEN) socket.close()
  }

  const send = (frame: Uint8Array) => {
    if (!open || socket.readyState !== WebSocket.OPEN) return false
    socket.send(frame)
    if (socket.bufferedAmount > MAX_BACKLOG_BYTES) {
      logWarning(
        `${options.name} websocket ${remote}: closed, more than ${MAX_BACKLOG_BYTES} bytes unsent (the peer does not read)`,
      )
      close()
    }
    return true
  }

  const pump = () => {
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) queue.shift()!()
  }

  const connection: WireConnection<R> = {
    id: nextConnectionId++,
    remote,
    reply: (request, handle) => {
      const start = () => {
        inFlight++
        run(handle, {
          onExit: (exit) => {
            inFlight--
            if (exit._tag === "Success") {
              send(responseFrame(request.id, exit.value))
            } else if (!exit.cause.reasons.every((r) => r._tag === "Interrupt")) {
              // A defect in a handler is a bug: it is logged, and the client still gets its one
              // response.
              logError(`${options.name} websocket ${remote}: request failed: ${exit.cause}`)
              send(responseFrame(request.id, internalErrorPayload(String(exit.cause))))
            }
            pump()
          },
        })
      }
      if (inFlight < MAX_IN_FLIGHT) return start()
      const size = request.data.length
      if (queuedBytes + size > MAX_QUEUED_BYTES) {
        logWarning(
          `${options.name} websocket ${remote}: closed, more than ${MAX_QUEUED_BYTES} bytes of requests waiting`,
        )
        return close()
      }
      queuedBytes += size
      queue.push(() => {
        queuedBytes -= size
        start()
      })
    },
    sendSignal: (frame) => {
      if (!open || socket.readyState !== WebSocket.OPEN) return false
      if (socket.bufferedAmount > SIGNAL_BACKLOG_BYTES) {
        if (droppedSignals++ === 0) {
          logWarning(
            `${options.name} websocket ${remote}: dropping signals, more than ${SIGNAL_BACKLOG_BYTES} bytes unsent`,
          )
        }
        return false
      }
      return send(frame)
    },
    close,
    isOpen: () => open,
  }

  const handler = options.accept(connection)
  socket.onmessage = (event) => {
    if (!open) return
    const message = decodeFrame(event.data)
    if (message !== undefined) handler.onMessage(message)
  }
  socket.onclose = () => {
    if (!open) return
    open = false
    queue.length = 0
    forget()
    handler.onClose()
  }
  // An error is always followed by close; nothing else to do.
  socket.onerror = () => {}
}
