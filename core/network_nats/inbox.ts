/**
 * The `Inbox` service: per-kind request handlers of the agents' inboxes
 * (`k2.<space>.ag.<agent>.<kind>`) and of the authority queries (`k2.<space>.get.<sector>`),
 * and the client side of both (`ask`, `askAuthority`, `tell`). This is where features plug
 * in: a module registers a handler for its kind (`register("get", handler)`) and calls
 * `ask`/`askAuthority` from its `NetworkShape` methods (./remote.ts).
 *
 * Every request and reply is a signed envelope (./envelope.ts). A handler sees only an opened
 * envelope: signature, space, recipient and time already checked, its body at most
 * `max_message_bytes`. Its answer is sealed by the addressed local agent as kind `<kind>.re`;
 * a handler failure answers kind `err` with a short text. `ask` accepts an answer only when it
 * is signed by the agent asked: the reply subject proves nothing.
 *
 * It does not subscribe: the space runtime (./space_runtime.ts) subscribes each local agent's
 * inbox and each space's authority subject and hands messages to `dispatch`.
 *
 * @module
 */
import { Clock, Context, Effect, Layer } from "effect"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import { type AgentPubKey, bytesEqual, type DnaHash, encodeHashB64 } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { clockMicros } from "../time/mod.ts"
import { NetworkError } from "../network/mod.ts"
import { NatsConnection, type NatsMessage } from "./connection.ts"
import { type Envelope, openEnvelope, sealEnvelope } from "./envelope.ts"
import { lastToken, spaceSubjects } from "./subjects.ts"

/** A request as a handler sees it. */
export interface InboxRequest {
  readonly space: DnaHash
  /** The local agent that answers (the addressed one, or for authority queries one of ours). */
  readonly local: AgentPubKey
  /** The verified request: `envelope.from` is who asked. */
  readonly envelope: Envelope
}

/**
 * Answers a request with the reply's body (msgpack bytes), or null for a message that wants no
 * answer. A failure becomes an `err` reply carrying its message.
 */
export type InboxHandler = (request: InboxRequest) => Effect.Effect<Uint8Array | null, NetworkError>

/** Where a handler listens. */
export type HandlerScope = "inbox" | "authority"

/** Error reply kind. */
export const ERROR_KIND = "err"
/** Longest error text in an `err` reply. */
const MAX_ERROR_TEXT = 1000

/** What the inbox offers. */
export interface InboxShape {
  /** Registers the handler of `kind` (a short token: letters, digits, `_`). Replaces one. */
  readonly register: (kind: string, handler: InboxHandler, scope?: HandlerScope) => void
  /** The kinds registered for a scope. */
  readonly kinds: (scope: HandlerScope) => ReadonlySet<string>
  /**
   * Handles one message that arrived on a local agent's inbox (`scope: "inbox"`) or on a
   * space's authority subject (`scope: "authority"`, answered by `local`); replies when the
   * message asked for one. Refused envelopes are counted and dropped.
   */
  readonly dispatch: (
    space: DnaHash,
    local: AgentPubKey,
    message: NatsMessage,
    scope: HandlerScope,
  ) => Effect.Effect<void>
  /** Asks agent `to` and returns its verified answer (signed by `to`). */
  readonly ask: (
    space: DnaHash,
    from: AgentPubKey,
    to: AgentPubKey,
    kind: string,
    body: Uint8Array,
    timeoutMs: number,
  ) => Effect.Effect<Envelope, NetworkError>
  /**
   * Asks the authorities of `sector` (one of them answers); the answer is verified as an
   * envelope from some agent, its content is the caller's to check.
   */
  readonly askAuthority: (
    space: DnaHash,
    from: AgentPubKey,
    sector: number,
    kind: string,
    body: Uint8Array,
    timeoutMs: number,
  ) => Effect.Effect<Envelope, NetworkError>
  /** Sends a message to agent `to` that wants no answer. */
  readonly tell: (
    space: DnaHash,
    from: AgentPubKey,
    to: AgentPubKey,
    kind: string,
    body: Uint8Array,
  ) => Effect.Effect<void>
  /** Seals an envelope from a local agent (for broadcasts: ops, agent infos). */
  readonly seal: (
    space: DnaHash,
    from: AgentPubKey,
    to: AgentPubKey | null,
    kind: string,
    body: Uint8Array,
  ) => Effect.Effect<Uint8Array, NetworkError>
  /** Envelopes refused so far (bad signature, wrong space, stale, too large…). */
  readonly refused: () => number
}

/** Builds the inbox over the connection and the keystore. */
export const makeInbox = (maxBytes: number) =>
  Effect.gen(function* () {
    const nats = yield* NatsConnection
    const keystore = yield* Keystore
    const clock = yield* Clock.Clock
    const handlers = new Map<string, { handler: InboxHandler; scope: HandlerScope }>()
    const kindSets: Record<HandlerScope, Set<string>> = { inbox: new Set(), authority: new Set() }
    let refused = 0

    const seal = (
      space: DnaHash,
      from: AgentPubKey,
      to: AgentPubKey | null,
      kind: string,
      body: Uint8Array,
    ) =>
      Effect.gen(function* () {
        const signer = yield* Effect.mapError(
          keystore.signer(from),
          (cause) =>
            new NetworkError({
              reason: "Refused",
              operation: "Inbox.seal",
              detail: `cannot sign as ${encodeHashB64(from)}: ${cause.message}`,
              cause,
            }),
        )
        const sealed = sealEnvelope(
          { kind, space, from, to, at: clockMicros(clock), body },
          signer.sign,
        )
        if (sealed.length > maxBytes) {
          return yield* new NetworkError({
            reason: "Refused",
            operation: "Inbox.seal",
            detail: `a ${kind} message of ${sealed.length} bytes exceeds ${maxBytes}`,
          })
        }
        return sealed
      })

    const register = (kind: string, handler: InboxHandler, scope: HandlerScope = "inbox") => {
      if (!/^[A-Za-z0-9_]{1,24}$/.test(kind)) throw new RangeError(`bad inbox kind ${kind}`)
      const previous = handlers.get(kind)
      if (previous !== undefined) kindSets[previous.scope].delete(kind)
      handlers.set(kind, { handler, scope })
      kindSets[scope].add(kind)
    }

    const errorBody = (text: string) => encode(text.slice(0, MAX_ERROR_TEXT))

    const dispatch = (
      space: DnaHash,
      local: AgentPubKey,
      message: NatsMessage,
      scope: HandlerScope,
    ) =>
      Effect.gen(function* () {
        const kind = scope === "inbox" ? lastToken(message.subject) : null
        const opened = openEnvelope(message.data, {
          kinds: kindSets[scope],
          space,
          ...(scope === "inbox" ? { to: local } : {}),
          now: clockMicros(clock),
          maxBytes,
        })
        if (!("body" in opened)) {
          refused++
          yield* Effect.logDebug(`network: ${message.subject}: ${opened.message}`)
          return
        }
        // The subject's kind must agree with the signed one (a relabelled message is refused).
        if (kind !== null && kind !== opened.kind) {
          refused++
          return
        }
        const entry = handlers.get(opened.kind)
        if (entry === undefined || entry.scope !== scope) return
        const outcome = yield* Effect.result(
          entry.handler({ space, local, envelope: opened }),
        )
        if (message.reply === "") return
        const [replyKind, body] = outcome._tag === "Success"
          ? [`${opened.kind}.re`, outcome.success]
          : [ERROR_KIND, errorBody(outcome.failure.message)]
        if (body === null) return
        const sealed = yield* Effect.result(seal(space, local, opened.from, replyKind, body))
        const data = sealed._tag === "Success" ? sealed.success : yield* Effect.orElseSucceed(
          seal(space, local, opened.from, ERROR_KIND, errorBody(sealed.failure.message)),
          () => null,
        )
        if (data !== null) yield* nats.publish(message.reply, data)
      })

    const openReply = (
      space: DnaHash,
      from: AgentPubKey,
      kind: string,
      data: Uint8Array,
      operation: string,
    ) =>
      Effect.gen(function* () {
        const opened = openEnvelope(data, {
          kinds: new Set([`${kind}.re`, ERROR_KIND]),
          space,
          to: from,
          now: clockMicros(clock),
          maxBytes,
        })
        if (!("body" in opened)) {
          refused++
          return yield* new NetworkError({
            reason: "Refused",
            operation,
            detail: opened.message,
          })
        }
        if (opened.kind === ERROR_KIND) {
          let text = "error"
          try {
            const decoded = decodeUntrusted(opened.body)
            if (typeof decoded === "string") text = decoded
          } catch {
            // A malformed error text is still an error answer.
          }
          return yield* new NetworkError({
            reason: "Refused",
            operation,
            detail: `${encodeHashB64(opened.from)} answered: ${text.slice(0, MAX_ERROR_TEXT)}`,
          })
        }
        return opened
      })

    const ask = (
      space: DnaHash,
      from: AgentPubKey,
      to: AgentPubKey,
      kind: string,
      body: Uint8Array,
      timeoutMs: number,
    ) =>
      Effect.gen(function* () {
        const request = yield* seal(space, from, to, kind, body)
        const data = yield* nats.request(spaceSubjects(space).inbox(to, kind), request, timeoutMs)
        const reply = yield* openReply(space, from, kind, data, `Inbox.ask:${kind}`)
        if (!bytesEqual(reply.from, to)) {
          refused++
          return yield* new NetworkError({
            reason: "Refused",
            operation: `Inbox.ask:${kind}`,
            detail: `the answer is signed by ${encodeHashB64(reply.from)}, not by ${
              encodeHashB64(to)
            }`,
          })
        }
        return reply
      })

    const askAuthority = (
      space: DnaHash,
      from: AgentPubKey,
      sector: number,
      kind: string,
      body: Uint8Array,
      timeoutMs: number,
    ) =>
      Effect.gen(function* () {
        const request = yield* seal(space, from, null, kind, body)
        const data = yield* nats.request(spaceSubjects(space).get(sector), request, timeoutMs)
        return yield* openReply(space, from, kind, data, `Inbox.askAuthority:${kind}`)
      })

    const tell = (
      space: DnaHash,
      from: AgentPubKey,
      to: AgentPubKey,
      kind: string,
      body: Uint8Array,
    ) =>
      Effect.gen(function* () {
        const sealed = yield* Effect.result(seal(space, from, to, kind, body))
        if (sealed._tag === "Success") {
          yield* nats.publish(spaceSubjects(space).inbox(to, kind), sealed.success)
        } else {
          yield* Effect.logDebug(`network: not sent: ${sealed.failure.message}`)
        }
      })

    return Inbox.of({
      register,
      kinds: (scope) => kindSets[scope],
      dispatch,
      ask,
      askAuthority,
      tell,
      seal,
      refused: () => refused,
    })
  })

/** Inbox handlers and requests. */
export class Inbox extends Context.Service<Inbox, InboxShape>()("conductor/network_nats/Inbox") {
  static readonly layer = (maxBytes: number) => Layer.effect(Inbox, makeInbox(maxBytes))
}
