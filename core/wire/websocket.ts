/**
 * The websocket transport of the Conductor API (conductor-api.md §1), shared by admin and app
 * interfaces: a dual-stack listener (`127.0.0.1` and `::1` on the same port, or one
 * `danger_bind_addr`), the Origin check at the HTTP upgrade, framing, the msgpack envelope, pings,
 * connection and message limits, request concurrency and back-pressure. It owns "every request
 * gets exactly one response with its id". It does not know what a request means: a
 * `ConnectionHandler` decides that (admin dispatch, app authentication and dispatch).
 *
 * The listener is `node:http` with the `ws` package rather than `Deno.serve` and
 * `Deno.upgradeWebSocket`: Deno's websocket bounds each frame but not a message reassembled from
 * fragments, and `Deno.serve` keeps a TCP connection that never sends a request open forever.
 * `ws` bounds the whole message (`maxPayload`), and the raw socket is ours before the upgrade, so
 * handshakes and pre-authentication bytes can be bounded too (docs/decisions.md, "Websocket
 * limits" and "Bounding websocket input").
 *
 * Limits and policies:
 * - a message may be at most 64 MiB, however it is fragmented; a larger one closes the connection
 *   (close code 1009);
 * - a TCP connection must complete the HTTP upgrade within 5 s or it is closed; at most as many
 *   connections may be mid-handshake as the interface accepts websockets;
 * - a listener may bound the bytes a connection sends before its handler calls `authenticated`
 *   (app interfaces: 64 KiB, an `authenticate` message is tiny);
 * - an envelope that does not decode is ignored (no reply, the connection stays open);
 * - at most 128 requests of one connection run at once; more wait in a queue of at most 64 MiB,
 *   beyond which that connection is closed;
 * - a ping after 30 s of silence; a peer that sends nothing (not even the pong) for 60 s is
 *   closed. The clock runs on this process's event loop, which a long stall of the loop delays,
 *   so the deadline must outlast such a stall: with 5 s, a call emitting 10,000 signals on a
 *   loaded machine held the loop long enough that an idle admin connection whose pong was already
 *   waiting was closed ("No response from ping frame");
 * - signals are dropped for a connection whose unsent backlog is above 8 MiB, and a connection
 *   whose backlog passes 128 MiB (it never reads) is closed, so a slow client cannot grow memory;
 *   at most 256 KiB of it is handed to the socket at a time (`node:net` writes are costly).
 *
 * @module
 */
import { Effect, Schedule, Schema } from "effect"
import http from "node:http"
import type { Socket } from "node:net"
// @ts-types="@types/ws"
import { type WebSocket, WebSocketServer } from "ws"
import { encode } from "../codec/mod.ts"
import { decodeMsgpack, decodeWireMessage, errorPayload, type WireMessage } from "./api.ts"
import { formatAllowedOrigins, originAllowed, parseAllowedOrigins } from "./origins.ts"

export {
  formatAllowedOrigins,
  originAllowed,
  type OriginPolicy,
  parseAllowedOrigins,
} from "./origins.ts"

/** Largest message accepted, reassembled from all its fragments (Holochain's default). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
/** Seconds a TCP connection has to complete the websocket upgrade. */
export const HANDSHAKE_TIMEOUT_SECONDS = 5
/**
 * Seconds of silence before a ping. Long enough that a stall of this process (a long zome call on
 * a busy machine) is not taken for a dead peer; short enough that a vanished peer's slot is
 * reclaimed within a minute.
 */
export const PING_INTERVAL_SECONDS = 30
/**
 * Seconds of silence (not even a pong) after which a peer is closed: twice the ping interval, so a
 * client busy with a burst of signals answers the ping once it has read what came before it.
 */
export const PEER_TIMEOUT_SECONDS = 60
/** Requests of one connection that run concurrently (Holochain: 128). */
export const MAX_IN_FLIGHT = 128
/** Bytes of requests one connection may have waiting beyond `MAX_IN_FLIGHT`. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024
/** Unsent bytes above which signals to that connection are dropped. */
export const SIGNAL_BACKLOG_BYTES = 8 * 1024 * 1024
/** Unsent bytes above which the connection is closed: its peer does not read. */
export const MAX_BACKLOG_BYTES = 128 * 1024 * 1024
/** Bytes queued in a socket beyond which further frames wait in the connection's outbox. */
const SOCKET_QUEUE_BYTES = 256 * 1024
/** Bytes of frames joined into one socket write. */
const BATCH_BYTES = 256 * 1024
const EMPTY = new Uint8Array(0)

/**
 * The header of an unmasked, final, binary frame of `length` bytes (RFC 6455 §5.2). Outgoing
 * frames are written by us in batches; `ws` writes one socket write per frame.
 */
export function frameHeader(length: number): Uint8Array {
  if (length < 126) return Uint8Array.of(0x82, length)
  if (length < 65536) return Uint8Array.of(0x82, 126, length >> 8, length & 0xff)
  const header = new Uint8Array(10)
  header[0] = 0x82
  header[1] = 127
  new DataView(header.buffer).setBigUint64(2, BigInt(length))
  return header
}

function concatBytes(parts: ReadonlyArray<Uint8Array>, size: number): Uint8Array {
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

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
  /** Lifts `ListenOptions.maxUnauthenticatedBytes` for this connection (it has authenticated). */
  readonly authenticated: () => void
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
  /** Websockets open at once; as many more may be mid-handshake. */
  readonly maxConnections: number
  /**
   * Bytes a connection may send (upgrade request excluded) until its handler calls
   * `authenticated`; more closes it. Unbounded (up to the message limit) when absent.
   */
  readonly maxUnauthenticatedBytes?: number
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
    : data instanceof Uint8Array
    ? data
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
    const run = Effect.runCallbackWith(yield* Effect.context<R>())
    const log = {
      logWarning: (message: string) => void run(Effect.logWarning(message)),
      logError: (message: string) => void run(Effect.logError(message)),
    }
    // Time is counted in ticks of the sweep below (one a second), so no callback reads a clock.
    const clock = { tick: 0 }
    /** TCP connections that have not upgraded yet, with the tick they arrived at. */
    const pending = new Map<Socket, number>()
    const connections = new Set<LiveConnection>()
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      // Frames carry msgpack; text frames are treated as its bytes (conductor-api.md §1.2).
      skipUTF8Validation: true,
    })

    const refuse = (socket: Socket, status: string, body: string, extra = "") => {
      socket.end(
        `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
          `content-length: ${textEncoder.encode(body).length}\r\n${extra}\r\n${body}`,
      )
    }

    // A refused socket stays in `pending` until it closes, so the sweep drops one whose peer never
    // reads the answer.
    const onUpgrade = (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
      if (!pending.has(socket)) return void socket.destroy()
      const origin = request.headers.origin
      if (origin === undefined) {
        return refuse(socket, "400 Bad Request", "Missing `Origin` header")
      }
      if (!originAllowed(policy, origin)) {
        return refuse(
          socket,
          "400 Bad Request",
          `Origin ${origin} is not allowed`,
          `access-control-allow-origin: ${allowedText}\r\n`,
        )
      }
      if (request.headers.upgrade?.toLowerCase() !== "websocket") {
        return refuse(socket, "400 Bad Request", "this is a Conductor API websocket endpoint")
      }
      if (connections.size >= options.maxConnections) {
        return refuse(socket, "503 Service Unavailable", "too many connections")
      }
      pending.delete(socket)
      const remote = `${socket.remoteAddress}:${socket.remotePort}`
      // Counted from the first byte after the upgrade request, including what came with it.
      const budget = options.maxUnauthenticatedBytes
      let received = head.length
      const countBytes = budget === undefined ? undefined : (chunk: Buffer) => {
        received += chunk.length
        if (received > budget) {
          log.logWarning(
            `${options.name} websocket ${remote}: closed, more than ${budget} bytes before authenticating`,
          )
          socket.destroy()
        }
      }
      if (countBytes !== undefined) {
        if (received > budget!) return void socket.destroy()
        socket.on("data", countBytes)
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        const live: LiveConnection = { ws, tcp: socket, lastSeen: clock.tick }
        connections.add(live)
        serveConnection(live, remote, options, run, {
          ...log,
          clock,
          forget: () => connections.delete(live),
          lift: () => {
            if (countBytes !== undefined) socket.off("data", countBytes)
          },
        })
      })
    }

    const makeServer = () => {
      const server = http.createServer((_request, response) => {
        response.writeHead(400, { "content-type": "text/plain", connection: "close" })
        response.end("this is a Conductor API websocket endpoint")
      })
      server.on("connection", (socket: Socket) => {
        if (pending.size >= options.maxConnections) return void socket.destroy()
        pending.set(socket, clock.tick)
        socket.once("close", () => pending.delete(socket))
      })
      server.on("upgrade", onUpgrade)
      server.on("clientError", (_error: Error, socket: Socket) => socket.destroy())
      return server
    }

    /** Once a second: handshakes that take too long, pings, silent peers. */
    const sweep = Effect.sync(() => {
      const tick = ++clock.tick
      for (const [socket, since] of pending) {
        if (tick - since >= HANDSHAKE_TIMEOUT_SECONDS) {
          pending.delete(socket)
          socket.destroy()
        }
      }
      for (const live of connections) {
        const silent = tick - live.lastSeen
        if (silent >= PEER_TIMEOUT_SECONDS) {
          log.logWarning(
            `${options.name} websocket: closed a peer silent for ${PEER_TIMEOUT_SECONDS} s`,
          )
          live.ws.terminate()
        } else if (silent > 0 && silent % PING_INTERVAL_SECONDS === 0) {
          live.ws.ping()
        }
      }
    })
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced("1 second")))

    const addresses = options.bind === null ? ["127.0.0.1", "::1"] : [options.bind]
    const servers: Array<http.Server> = []
    const listen = (hostname: string, port: number) =>
      Effect.callback<http.Server, unknown>((resume) => {
        const server = makeServer()
        const onError = (cause: unknown) => resume(Effect.fail(cause))
        server.once("error", onError)
        server.listen({ host: hostname, port, exclusive: true }, () => {
          server.off("error", onError)
          server.on("error", (cause: unknown) =>
            log.logError(`${options.name} websocket on ${hostname}: ${describe(cause)}`))
          resume(Effect.succeed(server))
        })
      })
    const portOf = (server: http.Server) =>
      (server.address() as { port: number }).port
    const shutdownServers = Effect.suspend(() =>
      Effect.forEach(
        servers.splice(0),
        (server) =>
          Effect.callback<void>((resume) => void server.close(() => resume(Effect.void))),
        { discard: true },
      )
    )
    const closeAll = Effect.suspend(() => {
      for (const socket of pending.keys()) socket.destroy()
      pending.clear()
      for (const live of connections) live.ws.terminate()
      return shutdownServers
    })
    const isInUse = (cause: unknown) => (cause as { code?: unknown } | null)?.code === "EADDRINUSE"
    const bound: Array<string> = []
    const port = yield* Effect.acquireRelease(
      Effect.gen(function* () {
        // With port 0 the OS picks one on the first address; it may be taken on the second, so
        // a few picks are tried.
        const attempts = options.port === 0 && addresses.length > 1 ? 5 : 1
        for (let attempt = 1;; attempt++) {
          const first = yield* listen(addresses[0]!, options.port).pipe(
            Effect.mapError((cause) =>
              new WebsocketListenError({
                address: addresses[0]!,
                port: options.port,
                inUse: isInUse(cause),
                detail: describe(cause),
              })
            ),
          )
          servers.push(first)
          bound.push(addresses[0]!)
          const chosen = portOf(first)
          let retry = false
          for (const address of addresses.slice(1)) {
            const next = yield* Effect.result(listen(address, chosen))
            if (next._tag === "Success") {
              servers.push(next.success)
              bound.push(address)
              continue
            }
            if (isInUse(next.failure) && attempt < attempts) {
              retry = true
              break
            }
            // A host without IPv6 (or without that address) still serves the other one.
            yield* Effect.logWarning(
              `${options.name} websocket: not listening on ${address} port ${chosen}: ${
                describe(next.failure)
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
      connections: () => connections.size,
    } satisfies WebsocketListener
  })

/** A websocket and the sweep's view of it. */
interface LiveConnection {
  readonly ws: WebSocket
  /** Its TCP socket. */
  readonly tcp: Socket
  /** The tick of the last thing received. */
  lastSeen: number
}

/** Wires one upgraded socket to its handler. */
function serveConnection<R>(
  live: LiveConnection,
  remote: string,
  options: ListenOptions<R>,
  run: ReturnType<typeof Effect.runCallbackWith<R>>,
  context: {
    readonly logWarning: (m: string) => void
    readonly logError: (m: string) => void
    readonly clock: { readonly tick: number }
    readonly forget: () => void
    readonly lift: () => void
  },
): void {
  const { logWarning, logError, clock } = context
  const socket = live.ws
  let open = true
  let inFlight = 0
  let queuedBytes = 0
  let droppedSignals = 0
  const queue: Array<() => void> = []

  // The TCP connection is dropped at once, with no close handshake (as Holochain):
  // @holochain/client reads a close within 10 ms of `authenticate` as a refused token, and a
  // hostile peer may never answer a close frame.
  const close = () => {
    if (socket.readyState === socket.OPEN) live.tcp.destroy()
  }

  // Frames wait in `outbox` (references: a signal frame is shared by every connection of its
  // app) and are written in batches: every frame sent in one turn of the event loop goes out in
  // one socket write of up to 256 KiB, and only while the socket's own queue is short. Each write
  // queued in `node:net` costs ~800 bytes and a promise beyond its payload, so 10,000 signals of
  // one call become a few writes instead of 10,000. Responses and signals share the outbox, so
  // they leave in the order they were sent.
  const outbox: Array<Uint8Array> = []
  let outboxHead = 0
  let outboxBytes = 0
  let flushQueued = false
  const backlog = () => outboxBytes + live.tcp.writableLength
  const flush = () => {
    flushQueued = false
    while (
      outboxHead < outbox.length && !live.tcp.destroyed &&
      live.tcp.writableLength < SOCKET_QUEUE_BYTES
    ) {
      const batch: Array<Uint8Array> = []
      let size = 0
      while (outboxHead < outbox.length && (size === 0 || size < BATCH_BYTES)) {
        const frame = outbox[outboxHead]!
        outbox[outboxHead++] = EMPTY
        outboxBytes -= frame.length
        const header = frameHeader(frame.length)
        batch.push(header, frame)
        size += header.length + frame.length
      }
      live.tcp.write(concatBytes(batch, size))
    }
    if (outboxHead === outbox.length) {
      outbox.length = 0
      outboxHead = 0
    } else if (outboxHead > 4096 && outboxHead * 2 > outbox.length) {
      outbox.splice(0, outboxHead)
      outboxHead = 0
    }
  }
  live.tcp.on("drain", flush)
  const send = (frame: Uint8Array) => {
    if (!open || socket.readyState !== socket.OPEN) return false
    outbox.push(frame)
    outboxBytes += frame.length
    if (!flushQueued) {
      flushQueued = true
      queueMicrotask(() => {
        if (open) flush()
      })
    }
    if (backlog() > MAX_BACKLOG_BYTES) {
      logWarning(
        `${options.name} websocket ${remote}: closed, more than ${MAX_BACKLOG_BYTES} bytes unsent (the peer does not read)`,
      )
      socket.terminate()
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
      if (!open || socket.readyState !== socket.OPEN) return false
      if (backlog() > SIGNAL_BACKLOG_BYTES) {
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
    authenticated: context.lift,
  }

  const handler = options.accept(connection)
  const seen = () => {
    live.lastSeen = clock.tick
  }
  socket.on("message", (data: Buffer) => {
    seen()
    if (!open) return
    const message = decodeFrame(data)
    if (message !== undefined) handler.onMessage(message)
  })
  socket.on("pong", seen)
  socket.on("ping", seen)
  socket.on("close", () => {
    if (!open) return
    open = false
    queue.length = 0
    outbox.length = 0
    outboxBytes = 0
    context.forget()
    handler.onClose()
  })
  socket.on("error", (error: Error) => {
    // `ws` closes the connection after an error (a message over the limit: 1009).
    logWarning(`${options.name} websocket ${remote}: ${error.message}`)
  })
}
