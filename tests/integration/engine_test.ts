/**
 * The engine under load: calls that wait in a host function do not hold up other calls, a cell
 * that spins does not hold up other cells, every call has a wall-clock deadline and an output
 * limit that name themselves, and warm instances are dropped when idle or past the caps.
 *
 * The waiting host function `test_wait_1` exists only here: it is added to the registry through
 * the `HostFns` reference of this test's conductor (the `wait` fixture zome imports it).
 *
 * @module
 */
import { waitFor } from "../support/timeout.ts"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { conductorServices } from "../../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { type AnyHostFn, ANYWHERE, defineHostFn } from "../../core/ribosome/host_fn/host_fn.ts"
import { HostFns, hostFnsByName } from "../../core/ribosome/host_fn/registry.ts"
import { Ribosome } from "../../core/ribosome/ribosome.ts"
import { Store } from "../../core/store/mod.ts"
import { callZome, callZomeError, installApp, packed, testConfig } from "../support/conductor.ts"

/** A conductor whose registry also has `test_wait_1`, which runs `wait()`. */
function makeEngineConductor(config: string, wait: () => Promise<void>) {
  const testWait = defineHostFn({
    name: "test_wait_1",
    input: Schema.Unknown,
    allowedIn: ANYWHERE,
    run: () => Effect.as(Effect.promise(wait), null),
  })
  const hostFns = new Map<string, AnyHostFn>([
    ...hostFnsByName,
    [testWait.name, testWait as AnyHostFn],
  ])
  const layer = conductorServices({ store: Store.layerMemory, keystore: Keystore.layerTest() })
    .pipe(
      Layer.provideMerge(ConductorConfig.fromYaml(testConfig(config))),
      Layer.provideMerge(Layer.succeed(HostFns, hostFns)),
    )
  return ManagedRuntime.make(layer)
}

const stats = (conductor: ReturnType<typeof makeEngineConductor>) =>
  conductor.runPromise(Effect.map(Effect.service(Ribosome), (r) => r.stats()))

Deno.test("calls waiting in a host function do not hold up other calls", async () => {
  let entered = 0
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => open = resolve)
  const conductor = makeEngineConductor("log: {level: error}\n", () => {
    entered++
    return gate
  })
  try {
    const waitCell =
      (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
    const noopCell =
      (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
    let finished = 0
    const waiting = Array.from(
      { length: 50 },
      (_, i) =>
        callZome(conductor, waitCell, "wait", "wait", { i }).then((out) => {
          finished++
          return out
        }),
    )
    await waitFor(() => entered === 50, "50 calls to enter test_wait_1", { intervalMs: 5 })
    // The 50 wait on the same cell; calls on that cell and on another one still complete.
    for (let i = 0; i < 20; i++) {
      assertEquals(await callZome(conductor, waitCell, "noop", "noop", { n: i }), { n: i })
      assertEquals(await callZome(conductor, noopCell, "noop", "noop", { n: i }), { n: i })
    }
    assertEquals(finished, 0, "the waiting calls are still waiting")
    open()
    const outputs = await Promise.all(waiting)
    assertEquals(outputs, Array.from({ length: 50 }, (_, i) => ({ i })))
    // Each waiting call ran in its own instance: an instance runs one call at a time.
    assert((await stats(conductor)).created >= 50)
  } finally {
    open()
    await conductor.dispose()
  }
})

Deno.test("a spinning cell does not hold up other cells, and stops at its wall-clock deadline", async () => {
  const conductor = makeEngineConductor(
    `log: {level: error}
ribosome:
  fuel_per_call: 100000000000000
  call_timeout_ms: 5000
`,
    () => Promise.resolve(),
  )
  try {
    const bad =
      (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
        "misbehave"
      ]!
    const good =
      (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
    let spinDone = false
    const spinning = callZomeError(conductor, bad, "spin", "spin").finally(() => spinDone = true)
    for (let i = 0; i < 20; i++) {
      assertEquals(await callZome(conductor, good, "noop", "noop", i), i)
    }
    assertEquals(spinDone, false, "the trivial calls completed while the spin still ran")
    const error = await spinning
    assertEquals(error.reason, "Trap")
    assert(
      error.detail.includes(
        "spin/spin exceeded its wall-clock deadline of 5000 ms (ribosome.call_timeout_ms)",
      ),
      error.detail,
    )
    assertEquals(await callZome(conductor, good, "noop", "noop", "after"), "after")
  } finally {
    await conductor.dispose()
  }
})

Deno.test("a waiting host function counts against the call's deadline", async () => {
  const conductor = makeEngineConductor(
    "log: {level: error}\nribosome: {call_timeout_ms: 200}\n",
    () => new Promise<void>(() => {}),
  )
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
    const error = await callZomeError(conductor, cell, "wait", "wait", null)
    assertEquals(error.reason, "Trap")
    assert(
      error.detail.includes(
        "wait/wait exceeded its wall-clock deadline of 200 ms (ribosome.call_timeout_ms)",
      ),
      error.detail,
    )
  } finally {
    await conductor.dispose()
  }
})

Deno.test("an output over ribosome.max_output_bytes is refused with the limit's name", async () => {
  const conductor = makeEngineConductor(
    "log: {level: error}\nribosome: {max_output_bytes: 1000}\n",
    () => Promise.resolve(),
  )
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
    const small = "x".repeat(900)
    assertEquals(await callZome(conductor, cell, "noop", "noop", small), small)
    const error = await callZomeError(conductor, cell, "noop", "noop", "x".repeat(1000))
    assertEquals(error.reason, "Trap")
    assert(
      error.detail.includes("output limit of 1000 bytes (ribosome.max_output_bytes)"),
      error.detail,
    )
    assertEquals(await callZome(conductor, cell, "noop", "noop", "again"), "again")
  } finally {
    await conductor.dispose()
  }
})

Deno.test("idle instances are dropped past the idle timeout and the count cap, then rebuilt", async () => {
  const conductor = makeEngineConductor(
    "log: {level: error}\nribosome: {instance_idle_ms: 300, instance_cache_size: 1}\n",
    () => Promise.resolve(),
  )
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
    assertEquals(await callZome(conductor, cell, "noop", "noop", 1), 1)
    assertEquals(await callZome(conductor, cell, "wait", "wait", 2), 2)
    // Two zomes were called; the count cap keeps one idle instance.
    const capped = await stats(conductor)
    assertEquals(capped.idle, 1)
    assert(capped.evicted >= 1)
    // The idle timeout drops the other one without any further call.
    const now = await waitFor(async () => {
      const current = await stats(conductor)
      return current.instances === 0 ? current : undefined
    }, "the idle instance to expire")
    assertEquals(now.evicted, capped.evicted + 1)
    // The next call builds a new instance.
    assertEquals(await callZome(conductor, cell, "noop", "noop", 3), 3)
    const rebuilt = await stats(conductor)
    assertEquals(rebuilt.created, capped.created + 1)
  } finally {
    await conductor.dispose()
  }
})
