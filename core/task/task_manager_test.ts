import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Deferred, Effect, Layer } from "effect"
import { Store } from "../store/mod.ts"
import { TaskManager } from "./mod.ts"

const layer = TaskManager.layer.pipe(Layer.provideMerge(Store.layerMemory))
const run = <A, E>(effect: Effect.Effect<A, E, TaskManager | Store>) =>
  Effect.runPromise(effect.pipe(Effect.provide(layer), Effect.scoped) as Effect.Effect<A, E>)

Deno.test("TaskManager retries a failing task and records the outcome", async () => {
  await run(Effect.gen(function* () {
    const tasks = yield* TaskManager
    let calls = 0
    yield* tasks.submit({
      kind: "test",
      subject: "flaky",
      group: "cell:a",
      retries: 3,
      run: Effect.suspend(() => (++calls < 3 ? Effect.fail("not yet") : Effect.void)),
    })
    yield* tasks.awaitIdle
    assertEquals(calls, 3)
    assertEquals(tasks.recent(1)[0]?.outcome, "succeeded")
    assertEquals(tasks.recent(1)[0]?.attempts, 3)
  }))
})

Deno.test("TaskManager gives up after its retries and records why", async () => {
  await run(Effect.gen(function* () {
    const tasks = yield* TaskManager
    yield* tasks.submit({
      kind: "test",
      subject: "broken",
      group: "g",
      retries: 1,
      run: Effect.fail("always"),
    })
    yield* tasks.awaitIdle
    const [outcome] = tasks.recent(1)
    assertEquals(outcome?.outcome, "failed")
    assertEquals(outcome?.attempts, 2)
    assertEquals(outcome?.detail, "always")
  }))
})

Deno.test("TaskManager times out a stuck attempt", async () => {
  await run(Effect.gen(function* () {
    const tasks = yield* TaskManager
    yield* tasks.submit({
      kind: "test",
      subject: "stuck",
      group: "g",
      timeout: "20 millis",
      run: Effect.never,
    })
    yield* tasks.awaitIdle
    const [outcome] = tasks.recent(1)
    assertEquals(outcome?.outcome, "failed")
    assert(outcome?.detail?.includes("timed out after 20 ms"))
  }))
})

Deno.test("TaskManager.cancelGroup interrupts only that group's tasks", async () => {
  await run(Effect.gen(function* () {
    const tasks = yield* TaskManager
    const started = yield* Deferred.make<void>()
    const other = yield* Deferred.make<void>()
    yield* tasks.submit({
      kind: "test",
      subject: "a",
      group: "cell:a",
      run: Effect.andThen(Deferred.succeed(started, undefined), Effect.never),
    })
    yield* tasks.submit({ kind: "test", subject: "b", group: "cell:b", run: Deferred.await(other) })
    yield* Deferred.await(started)
    yield* tasks.cancelGroup("cell:a")
    assertEquals(yield* tasks.running, 1)
    yield* Deferred.succeed(other, undefined)
    yield* tasks.awaitIdle
    assertEquals(tasks.recent(2).map((o) => [o.subject, o.outcome]).sort(), [["a", "interrupted"], [
      "b",
      "succeeded",
    ]])
  }))
})
