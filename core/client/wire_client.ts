/**
 * A minimal Conductor API websocket client (conductor-api.md §1, §4) on Deno's own `WebSocket`:
 * the msgpack envelope, request ids, error payloads and the app authentication handshake. It is
 * what `conductor call` uses to talk to a running conductor exactly as a script with
 * `@holochain/client` would; it is not a general client library (no reconnects, no signals).
 *
 * @module
 */
import { Duration, Effect, Schema, type Scope } from "effect"
import { encode } from "../codec/mod.ts"
import { decodeMsgpack } from "../wire/mod.ts"

/** A client-side failure. `variant` is the wire error variant when the conductor answered one. */
export class ConductorClientError
  extends Schema.TaggedError<ConductorClientError>()("ConductorClientError", {
    reason: Schema.Literals(["Connect", "Closed", "Timeout", "Protocol", "Remote", "InvalidToken"]),
    variant: Schema.NullOr(Schema.String),
    detail: Schema.String,
  }) {
  override get message(): string {
    return this.variant === null ? this.detail : `${this.variant}: ${this.detail}`
  }
}

/** An open connection. */
export interface WireClient {
  /**
   * Sends `{type, value}` and resolves with the response's `value`; an error payload fails with
   * reason `Remote` and its variant.
   */
  readonly request: (
    type: string,
    value?: unknown,
  ) => Effect.Effect<unknown, ConductorClientError>
  /** Sends `authenticate` with the token; a refused token surfaces as `InvalidToken`. */
  readonly authenticate: (token: ReadonlyArray<number>) => Effect.Effect<void, ConductorClientError>
  /**
   * False once the connection closed: a request made now fails at once without being sent (a
   * caller that reconnects can tell this from a close while a request was in flight).
   */
  readonly isOpen: () => boolean
}

/** Options of `connectWire`. */
export interface WireOptions {
  /** The Origin header (the interface's `allowed_origins` must admit it). */
  readonly origin: string
  /** @default 30 seconds */
  readonly timeout?: Duration.Input
}

const clientError = (
  reason: ConductorClientError["reason"],
  detail: string,
  variant: string | null = null,
) => new ConductorClientError({ reason, variant, detail })

interface Pending {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: ConductorClientError) => void
}

/** Opens a websocket to `url`; it is closed when the scope closes. */
export const connectWire = (
  url: string,
  options: WireOptions,
): Effect.Effect<WireClient, ConductorClientError, Scope.Scope> =>
  Effect.gen(function* () {
    const timeout = Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(30))
    const socket = yield* Effect.acquireRelease(
      Effect.callback<WebSocket, ConductorClientError>((resume) => {
        // Deno's WebSocket takes headers: Node-style clients must send an Origin explicitly.
        const ws = new WebSocket(url, { headers: { origin: options.origin } })
        ws.binaryType = "arraybuffer"
        ws.onopen = () => resume(Effect.succeed(ws))
        ws.onerror = (event) =>
          resume(Effect.fail(clientError(
            "Connect",
            `cannot connect to ${url}: ${(event as ErrorEvent).message ?? "connection refused"}`,
          )))
      }),
      (ws) => Effect.sync(() => ws.close()),
    )
    const pending = new Map<number, Pending>()
    let nextId = 0
    let closed: ConductorClientError | undefined
    socket.onerror = () => {}
    socket.onclose = (event) => {
      closed = clientError("Closed", `the conductor closed the connection (code ${event.code})`)
      for (const request of pending.values()) request.reject(closed)
      pending.clear()
    }
    socket.onmessage = (event) => {
      const message = decodeEnvelope(event.data)
      if (message === undefined || message.type !== "response") return
      const request = pending.get(message.id)
      if (request === undefined) return
      pending.delete(message.id)
      if (!(message.data instanceof Uint8Array)) {
        return request.reject(clientError("Protocol", "a response without data"))
      }
      const payload = decodeSafely(message.data) as { type?: unknown; value?: unknown } | undefined
      if (payload === undefined || typeof payload.type !== "string") {
        return request.reject(
          clientError("Protocol", "a response payload that is not {type, value}"),
        )
      }
      if (payload.type === "error") {
        const error = payload.value as { type?: unknown; value?: unknown } | undefined
        return request.reject(clientError(
          "Remote",
          String(error?.value ?? "unknown error"),
          String(error?.type ?? "internal_error"),
        ))
      }
      request.resolve(payload.value ?? null)
    }

    const request = (type: string, value: unknown = null) =>
      Effect.callback<unknown, ConductorClientError>((resume) => {
        if (closed !== undefined) return resume(Effect.fail(closed))
        const id = nextId++
        pending.set(id, {
          resolve: (v) => resume(Effect.succeed(v)),
          reject: (e) => resume(Effect.fail(e)),
        })
        socket.send(encode({ id, type: "request", data: encode({ type, value }) }))
        return Effect.sync(() => void pending.delete(id))
      }).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              clientError("Timeout", `no answer to ${type} within ${Duration.format(timeout)}`),
            ),
        }),
      )

    const authenticate = (token: ReadonlyArray<number>) =>
      Effect.gen(function* () {
        socket.send(encode({ type: "authenticate", data: encode({ token: [...token] }) }))
        // The conductor closes a refused connection at once and never answers `authenticate`:
        // the first request after it tells whether the token was accepted.
        yield* request("app_info").pipe(
          Effect.catchTag("ConductorClientError", (e) =>
            e.reason === "Closed"
              ? Effect.fail(clientError("InvalidToken", "the conductor refused the app token"))
              : Effect.fail(e)),
        )
      })

    return {
      request,
      authenticate,
      isOpen: () => closed === undefined,
    } satisfies WireClient
  })

function decodeSafely(bytes: Uint8Array): unknown {
  const value = decodeMsgpack(bytes)
  // Not msgpack: the caller reports a protocol error.
  return value._tag === "Success" ? value.success : undefined
}

function decodeEnvelope(
  data: unknown,
): { type: string; id: number; data: unknown } | undefined {
  if (!(data instanceof ArrayBuffer)) return undefined
  const value = decodeSafely(new Uint8Array(data)) as
    | { type?: unknown; id?: unknown; data?: unknown }
    | undefined
  if (value === undefined || typeof value.type !== "string" || typeof value.id !== "number") {
    return undefined
  }
  return { type: value.type, id: value.id, data: value.data }
}
