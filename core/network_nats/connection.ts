/**
 * The `NatsConnection` service: one client connection to the configured NATS servers
 * (`@nats-io/transport-node`), reconnecting forever, closed with its layer. It moves bytes only:
 * `publish`, `request` (bounded by a timeout), `subscribe` (into a bounded queue that drops when
 * full, so a flood never grows memory) and connection `events` (disconnected, reconnected),
 * which the space runtime answers with a repair round. It does not sign or verify: the
 * envelope (./envelope.ts) does.
 *
 * @module
 */
import {
  type Authenticator,
  credsAuthenticator,
  type NatsConnection as Client,
  type Subscription,
} from "@nats-io/nats-core"
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node"
import { Context, Deferred, Effect, Layer, PubSub, Queue, Schema, type Scope } from "effect"
import type { NatsConfig } from "../config/mod.ts"
import { NetworkError } from "../network/mod.ts"

/** A message as a subscriber sees it. */
export interface NatsMessage {
  readonly subject: string
  readonly data: Uint8Array
  /** Where a request wants its answer; empty for plain messages. Routing only, never identity. */
  readonly reply: string
}

/** What happened to the connection. */
export type ConnectionEvent = "disconnected" | "reconnected"

/** What the connection offers. */
export interface NatsConnectionShape {
  /** Sends a message; false when it could not even be buffered (connection closed). */
  readonly publish: (subject: string, data: Uint8Array) => Effect.Effect<boolean>
  /** Sends a request and waits at most `timeoutMs` for the first answer. */
  readonly request: (
    subject: string,
    data: Uint8Array,
    timeoutMs: number,
  ) => Effect.Effect<Uint8Array, NetworkError>
  /**
   * Subscribes for the life of the scope; messages queue up to `capacity` and are dropped past
   * it (counted in `dropped`). With `queue`, one member of the group gets each message.
   */
  readonly subscribe: (
    subject: string,
    options?: { readonly capacity?: number; readonly queue?: string },
  ) => Effect.Effect<Queue.Dequeue<NatsMessage>, NetworkError, Scope.Scope>
  /** Connection events, for the life of the scope. */
  readonly events: Effect.Effect<PubSub.Subscription<ConnectionEvent>, never, Scope.Scope>
  /** True while connected to a server. */
  readonly connected: () => boolean
  /** Messages dropped because a subscriber's queue was full. */
  readonly dropped: () => number
  /** The server currently used, for logs and stats. */
  readonly server: () => string
}

/** The NATS connection could not be made. */
export class NatsConnectError extends Schema.TaggedError<NatsConnectError>()("NatsConnectError", {
  servers: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot connect to NATS (${this.servers}): ${detail}`
  }
}

/** The client options of a `network.nats` config. */
export function clientOptions(config: NatsConfig): NodeConnectionOptions {
  const authenticator: Array<Authenticator> = []
  if (config.credentials !== undefined && config.credentials !== null) {
    const file = config.credentials
    authenticator.push(credsAuthenticator(Deno.readFileSync(file)))
  }
  const tls = config.tls ?? undefined
  return {
    servers: [...config.servers],
    name: config.name,
    // Attempts never stop: a conductor outlives NATS outages and repairs after them.
    maxReconnectAttempts: -1,
    reconnectTimeWait: config.reconnect_wait_ms,
    pingInterval: config.ping_interval_ms,
    maxPingOut: 2,
    // Our own messages come back through full-arc subscriptions otherwise.
    noEcho: true,
    waitOnFirstConnect: false,
    ...(authenticator.length > 0 ? { authenticator } : {}),
    ...(config.token !== undefined && config.token !== null ? { token: config.token } : {}),
    ...(config.user !== undefined && config.user !== null ? { user: config.user } : {}),
    ...(config.pass !== undefined && config.pass !== null ? { pass: config.pass } : {}),
    ...(tls !== undefined
      ? {
        tls: {
          ...(tls.ca_file ? { caFile: tls.ca_file } : {}),
          ...(tls.cert_file ? { certFile: tls.cert_file } : {}),
          ...(tls.key_file ? { keyFile: tls.key_file } : {}),
          ...(tls.handshake_first ? { handshakeFirst: true } : {}),
        },
      }
      : {}),
  }
}

/**
 * Wraps a client that may not be connected yet: `ready` completes with it once it is. Until
 * then nothing is published (ops stay due in the outbox), requests fail `Unreachable`, and
 * subscribing waits for the connection.
 */
export const makeNatsConnection = (ready: Deferred.Deferred<Client>) =>
  Effect.gen(function* () {
    const events = yield* PubSub.unbounded<ConnectionEvent>()
    let dropped = 0
    let connected = false
    let current: Client | null = null
    const notConnected = (operation: string, subject: string) =>
      new NetworkError({
        reason: "Unreachable",
        operation,
        detail: `${subject}: not connected to NATS yet`,
      })
    // The client reports status changes on an async iterator; one detached reader feeds the
    // PubSub until the client closes (then the iterator ends).
    yield* Effect.forkScoped(Effect.flatMap(Deferred.await(ready), (client) =>
      Effect.sync(() => {
        current = client
        connected = true
        void (async () => {
          for await (const status of client.status()) {
            if (status.type === "disconnect") {
              connected = false
              PubSub.publishUnsafe(events, "disconnected")
            } else if (status.type === "reconnect") {
              connected = true
              PubSub.publishUnsafe(events, "reconnected")
            }
          }
        })().catch(() => {
          // The status stream failed (the client is gone): a rejection left unhandled here
          // would end the process; being disconnected is what it means.
          connected = false
          PubSub.publishUnsafe(events, "disconnected")
        })
      })))

    const publish = (subject: string, data: Uint8Array) =>
      Effect.sync(() => {
        const client = current
        if (client === null || client.isClosed()) return false
        client.publish(subject, data)
        return true
      })

    const request = (subject: string, data: Uint8Array, timeoutMs: number) => {
      const client = current
      if (client === null) return Effect.fail(notConnected("NatsConnection.request", subject))
      return Effect.tryPromise({
        try: () => client.request(subject, data, { timeout: timeoutMs }),
        catch: (cause) => {
          const name = cause instanceof Error ? cause.name : ""
          const text = cause instanceof Error ? cause.message : String(cause)
          return new NetworkError({
            reason: /timeout/i.test(name + text)
              ? "Timeout"
              : /no ?responders/i.test(name + text)
              ? "Unreachable"
              : "Unreachable",
            operation: "NatsConnection.request",
            detail: `${subject}: ${text}`,
            cause,
          })
        },
      }).pipe(Effect.map((msg) => msg.data))
    }

    const subscribe = (
      subject: string,
      options: { readonly capacity?: number; readonly queue?: string } = {},
    ) =>
      Effect.gen(function* () {
        const client = yield* Deferred.await(ready)
        const queue = yield* Queue.dropping<NatsMessage>(options.capacity ?? 1024)
        yield* Effect.acquireRelease(
          Effect.try({
            try: (): Subscription =>
              client.subscribe(subject, {
                ...(options.queue !== undefined ? { queue: options.queue } : {}),
                callback: (error, msg) => {
                  if (error !== null) return
                  const message = { subject: msg.subject, data: msg.data, reply: msg.reply ?? "" }
                  if (!Queue.offerUnsafe(queue, message)) dropped++
                },
              }),
            catch: (cause) =>
              new NetworkError({
                reason: "Unreachable",
                operation: "NatsConnection.subscribe",
                detail: `${subject}: ${cause instanceof Error ? cause.message : String(cause)}`,
                cause,
              }),
          }),
          (subscription) =>
            Effect.sync(() => {
              if (!client.isClosed()) subscription.unsubscribe()
            }).pipe(Effect.andThen(Queue.shutdown(queue))),
        )
        return queue as Queue.Dequeue<NatsMessage>
      })

    return NatsConnection.of({
      publish,
      request,
      subscribe,
      events: PubSub.subscribe(events),
      connected: () => connected && current !== null && !current.isClosed(),
      dropped: () => dropped,
      server: () => current?.getServer() ?? "(not connected)",
    })
  })

/** The connection to NATS. */
export class NatsConnection extends Context.Service<NatsConnection, NatsConnectionShape>()(
  "conductor/network_nats/NatsConnection",
) {
  /**
   * Connects with `config`. A server that refuses (or is down) at start does not stop the
   * conductor: it logs a warning and keeps dialling in the background, and joins its spaces
   * once connected. Drains and closes with the layer.
   */
  static readonly layer = (config: NatsConfig) =>
    Layer.effect(
      NatsConnection,
      Effect.gen(function* () {
        const servers = config.servers.join(", ")
        const ready = yield* Deferred.make<Client>()
        const dial = (waitOnFirstConnect: boolean) =>
          Effect.tryPromise({
            try: () => connect({ ...clientOptions(config), waitOnFirstConnect }),
            catch: (cause) => new NatsConnectError({ servers, cause }),
          })
        const first = yield* Effect.result(dial(false))
        if (first._tag === "Success") {
          yield* Deferred.succeed(ready, first.success)
        } else {
          yield* Effect.logWarning(
            `network: ${first.failure.message}; retrying every ${config.reconnect_wait_ms} ms`,
          )
          yield* Effect.forkScoped(
            dial(true).pipe(
              Effect.flatMap((client) => Deferred.succeed(ready, client)),
              Effect.andThen(Effect.logInfo(`network: connected to NATS (${servers})`)),
              Effect.catch((error) => Effect.logError(`network: ${error.message}`)),
            ),
          )
        }
        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            await current?.close().then(() => undefined, () => undefined)
          })
        )
        let current: Client | undefined
        yield* Effect.forkScoped(
          Effect.map(Deferred.await(ready), (client) => {
            current = client
          }),
        )
        return yield* makeNatsConnection(ready)
      }),
    )
}
