import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Context, Effect, Exit, Layer, PubSub, Scope } from "effect"
import { type AppSignal, Signals } from "./mod.ts"

const signal = (n: number): AppSignal => ({
  appId: "app",
  cellId: [new Uint8Array(39), new Uint8Array(39)] as unknown as AppSignal["cellId"],
  zomeName: "z",
  signal: Uint8Array.of(n),
})

Deno.test("signals: dropped with no subscriber, delivered to each one after, refused once closed", async () => {
  const scope = Scope.makeUnsafe()
  const context = await Effect.runPromise(Layer.buildWithScope(Signals.layer, scope))
  const signals = Context.get(context, Signals)
  assertEquals(signals.publish(signal(1)), true)
  const received = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const first = yield* signals.subscribe
    const second = yield* signals.subscribe
    signals.publish(signal(2))
    signals.publish(signal(3))
    return [yield* PubSub.takeAll(first), yield* PubSub.takeAll(second)]
  })))
  assertEquals(received.map((batch) => batch.map((s) => s.signal[0])), [[2, 3], [2, 3]])
  await Effect.runPromise(Scope.close(scope, Exit.void))
  assertEquals(signals.publish(signal(4)), false)
})
