/**
 * The `Signals` service: fan-out of app signals (what zomes emit with `emit_signal_1`) to every
 * subscriber, e.g. each authenticated app websocket. Publishing is synchronous and never blocks
 * (it happens inside a running guest); a subscriber that falls behind by more than the buffer
 * loses its oldest signals (Holochain: "slow consumers may drop signals") instead of growing
 * memory. It does not know about websockets or encoding.
 *
 * @module
 */
import { Context, Effect, Layer, PubSub, type Scope } from "effect"
import type { CellId } from "../types/mod.ts"

/** One signal from a zome. `signal` is the msgpack the zome emitted. */
export interface AppSignal {
  readonly appId: string
  readonly cellId: CellId
  readonly zomeName: string
  readonly signal: Uint8Array
}

/** Signals a subscriber may fall behind by before it loses the oldest (the 10,000 one call may emit fit). */
export const SIGNAL_BUFFER = 16_384

/** What Signals offers. */
export interface SignalsShape {
  /** Publishes synchronously; returns false if the conductor is shutting down. */
  readonly publish: (signal: AppSignal) => boolean
  /** A subscription that lives as long as the scope. */
  readonly subscribe: Effect.Effect<PubSub.Subscription<AppSignal>, never, Scope.Scope>
}

/** App signal fan-out. */
export class Signals extends Context.Service<Signals, SignalsShape>()("conductor/signals/Signals") {
  static readonly layer = Layer.effect(
    Signals,
    Effect.gen(function* () {
      // Made by the first subscriber: a signal published before there is one is dropped either
      // way, and sizing the ring of `SIGNAL_BUFFER` slots cost ~20 ms of start-up.
      let pubsub: PubSub.PubSub<AppSignal> | undefined
      let closed = false
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          closed = true
          return pubsub === undefined ? Effect.void : PubSub.shutdown(pubsub)
        })
      )
      const made = Effect.suspend(() =>
        pubsub !== undefined
          ? Effect.succeed(pubsub)
          : PubSub.sliding<AppSignal>(SIGNAL_BUFFER).pipe(
            Effect.map((fresh) => {
              pubsub ??= fresh
              return pubsub
            }),
          )
      )
      return Signals.of({
        publish: (signal) => pubsub === undefined ? !closed : PubSub.publishUnsafe(pubsub, signal),
        subscribe: Effect.flatMap(
          made,
          (current) => closed ? Effect.interrupt : PubSub.subscribe(current),
        ),
      })
    }),
  )
}
