/**
 * The engine in worker mode (`ribosome.workers`): heavy zome functions move to guest workers
 * while light ones stay on the main thread, busy cells get workers of their own, every limit
 * (fuel, deadline, memory, output, stack) holds inside a worker and names itself, a trap loses
 * only its call, and a worker that dies is replaced: its calls in flight fail with an error
 * that says so, and nothing acknowledged before is lost.
 *
 * Worker death is real: `tests/fixtures/workers/crash_on_trap.ts` is the real worker plus an
 * uncaught error when it is asked to run a function named `trap`, given to the ribosome through
 * the `GuestWorkerScript` reference.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Chain } from "../../core/chain/mod.ts"
import { conductorServices } from "../../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { type AnyHostFn, ANYWHERE, defineHostFn } from "../../core/ribosome/host_fn/host_fn.ts"
import { HostFns, hostFnsByName } from "../../core/ribosome/host_fn/registry.ts"
import { GuestWorkerScript, Ribosome } from "../../core/ribosome/ribosome.ts"
import { Store } from "../../core/store/mod.ts"
import { callZome, callZomeError, installApp, packed } from "../support/conductor.ts"
import { waitFor } from "../support/timeout.ts"

const CRASHING_WORKER = new URL("../fixtures/workers/crash_on_trap.ts", import.meta.url)

interface Options {
  readonly config: string
  readonly wait?: () => Promise<void>
  readonly workerScript?: URL
}

/** A conductor with `test_wait_1` (runs `wait()`) and, optionally, another worker script. */
function makeWorkerConductor(options: Options) {
  const wait = options.wait ?? (() => Promise.resolve())
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
  let layer = conductorServices({ store: Store.layerMemory, keystore: Keystore.layerTest() })
    .pipe(
      Layer.provideMerge(ConductorConfig.fromYaml(options.config)),
      Layer.provideMerge(Layer.succeed(HostFns, hostFns)),
    )
  if (options.workerScript !== undefined) {
    layer = layer.pipe(Layer.provideMerge(Layer.succeed(GuestWorkerScript, options.workerScript)))
  }
  return ManagedRuntime.make(layer)
}

type WorkerConductor = ReturnType<typeof makeWorkerConductor>

const stats = (conductor: WorkerConductor) =>
  conductor.runPromise(Effect.map(Effect.service(Ribosome), (r) => r.stats()))

const workersOf = async (conductor: WorkerConductor) => {
  const pool = (await stats(conductor)).workers
  assert(pool !== undefined, "the conductor runs guest workers")
  return pool
}

Deno.test("heavy zome functions move to a worker, light ones stay, busy cells get their own", async () => {
  const conductor = makeWorkerConductor({
    config: "log: {level: error}\nribosome: {workers: 2, worker_min_fuel: 1000000}\n",
  })
  try {
    const misbehave = await packed("tests/fixtures/happs/misbehave")
    const a = (await installApp(conductor, misbehave, "a"))["misbehave"]!
    const b = (await installApp(conductor, misbehave, "b"))["misbehave"]!
    const noop =
      (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
    for (let i = 0; i < 10; i++) assertEquals(await callZome(conductor, noop, "noop", "noop", i), i)
    assertEquals((await workersOf(conductor)).started, 0, "light calls start no worker")
    // The first call of `work` starts here; once it has used worker_min_fuel without calling a
    // host function it is stopped and run again in a worker, and so are its next calls.
    const first = await callZome(conductor, a, "spin", "work", 1_000_000)
    const afterFirst = await stats(conductor)
    assertEquals([afterFirst.workers?.started, afterFirst.preempted], [1, 1])
    assertEquals(await callZome(conductor, a, "spin", "work", 1_000_000), first)
    assertEquals((await stats(conductor)).preempted, 1, "the next calls go to the worker directly")
    assertEquals(await callZome(conductor, b, "spin", "work", 1_000_000), first)
    assertEquals(await callZome(conductor, b, "spin", "work", 1_000_000), first)
    const pool = await workersOf(conductor)
    assertEquals(pool.running, 2, "the two busy cells run on two workers")
    assertEquals(pool.died, 0)
    for (let i = 0; i < 10; i++) assertEquals(await callZome(conductor, noop, "noop", "noop", i), i)
  } finally {
    await conductor.dispose()
  }
})

Deno.test("a first call that calls a host function runs to its end here; a pure one is preempted", async () => {
  const conductor = makeWorkerConductor({
    config:
      "log: {level: error}\nribosome: {workers: 2, worker_min_fuel: 1000000, fuel_per_call: 100000000}\n",
  })
  try {
    const misbehave = await packed("tests/fixtures/happs/misbehave")
    const cell = (await installApp(conductor, misbehave, "misbehave"))["misbehave"]!
    // `spin_host` calls `sys_time` on every turn: re-running it elsewhere could repeat an effect.
    const hostSpin = await callZomeError(conductor, cell, "spin", "spin_host")
    assert(hostSpin.detail.includes("ran out of fuel"), hostSpin.detail)
    const afterHost = await stats(conductor)
    assertEquals([afterHost.workers?.started, afterHost.preempted], [0, 0])
    // Its fuel use sends its next call to a worker, which runs out of fuel the same way.
    const again = await callZomeError(conductor, cell, "spin", "spin_host")
    assert(again.detail.includes("ran out of fuel"), again.detail)
    assertEquals((await workersOf(conductor)).started, 1)
    // `spin` is pure: its first call stops here after worker_min_fuel and runs again in a worker,
    // where it uses its whole budget (the error names it, as on the main thread).
    const pure = await callZomeError(conductor, cell, "spin", "spin")
    assert(pure.detail.includes("ran out of fuel: it used its budget of 100000000"), pure.detail)
    assertEquals((await stats(conductor)).preempted, 1)
  } finally {
    await conductor.dispose()
  }
})

Deno.test("an idle worker stops with its last instance and starts again on the next call", async () => {
  const conductor = makeWorkerConductor({
    config:
      "log: {level: error}\nribosome: {workers: 1, worker_min_fuel: 0, instance_idle_ms: 200}\n",
  })
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
    assertEquals(await callZome(conductor, cell, "noop", "noop", 1), 1)
    assertEquals((await workersOf(conductor)).running, 1)
    const idle = await waitFor(async () => {
      const pool = await workersOf(conductor)
      return pool.running === 0 ? pool : undefined
    }, "the idle worker to stop")
    assertEquals(idle.retired, 1)
    assertEquals(idle.died, 0)
    assertEquals(await callZome(conductor, cell, "noop", "noop", 2), 2)
    const again = await workersOf(conductor)
    assertEquals([again.running, again.started], [1, 2])
  } finally {
    await conductor.dispose()
  }
})

Deno.test("every limit holds in a worker and names itself; a trap loses only its call", async () => {
  const conductor = makeWorkerConductor({
    config: `log: {level: error}
ribosome:
  workers: 2
  worker_min_fuel: 0
  fuel_per_call: 200000000
  max_memory_mb: 32
  max_output_bytes: 100000
`,
  })
  try {
    const cell =
      (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
        "misbehave"
      ]!
    const cases: ReadonlyArray<readonly [string, string, unknown, string]> = [
      [
        "spin",
        "spin",
        null,
        "spin/spin ran out of fuel: it used its budget of 200000000 units (ribosome.fuel_per_call)",
      ],
      // The allocator gives up (a trap) when memory.grow fails at the cap.
      ["grow", "grow", null, "grow/grow"],
      [
        "kernel_flood",
        "huge_output",
        1,
        "kernel_flood/huge_output returned more than the output limit of 100000 bytes (ribosome.max_output_bytes)",
      ],
      ["spin", "recurse", null, "spin/recurse "],
      ["trap", "trap", null, "trap/trap trapped"],
    ]
    for (const [zome, fn, payload, expected] of cases) {
      const error = await callZomeError(conductor, cell, zome, fn, payload)
      assertEquals(error.reason, "Trap", `${zome}/${fn}`)
      assert(error.detail.includes(expected), error.detail)
      // The trap cost only its own call: the zome still answers.
      assertEquals(await callZome(conductor, cell, "trap", "still_alive"), "alive")
    }
    const pages = await callZome(conductor, cell, "grow", "grow_pages") as number
    assert(pages <= 32 * 16, `grew to ${pages} pages past the 32 MiB cap`)
    const recursion = await callZomeError(conductor, cell, "spin", "recurse")
    assert(
      recursion.detail.includes("overflowed the call stack") ||
        recursion.detail.includes("ran out of fuel"),
      recursion.detail,
    )
    const pool = await workersOf(conductor)
    assert(pool.started >= 1, "the calls ran in a worker")
    assertEquals(pool.died, 0, "no limit kills a worker")
  } finally {
    await conductor.dispose()
  }
})

Deno.test("a worker's deadline covers a spinning guest and a waiting host function", async () => {
  const conductor = makeWorkerConductor({
    config: `log: {level: error}
ribosome: {workers: 1, worker_min_fuel: 0, fuel_per_call: 100000000000000, call_timeout_ms: 300}
`,
    wait: () => new Promise<void>(() => {}),
  })
  try {
    const bad =
      (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
        "misbehave"
      ]!
    const waiting =
      (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
    const [spun, waited] = await Promise.all([
      callZomeError(conductor, bad, "spin", "spin"),
      callZomeError(conductor, waiting, "wait", "wait"),
    ])
    assert(
      spun.detail.includes(
        "spin/spin exceeded its wall-clock deadline of 300 ms (ribosome.call_timeout_ms)",
      ),
      spun.detail,
    )
    assert(
      waited.detail.includes(
        "wait/wait exceeded its wall-clock deadline of 300 ms (ribosome.call_timeout_ms)",
      ),
      waited.detail,
    )
    assertEquals((await workersOf(conductor)).died, 0)
    assertEquals(await callZome(conductor, waiting, "noop", "noop", 7), 7)
  } finally {
    await conductor.dispose()
  }
})

Deno.test("a worker that dies is replaced; its calls fail saying so and nothing acknowledged is lost", async () => {
  let entered = 0
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => open = resolve)
  const conductor = makeWorkerConductor({
    config: "log: {level: error}\nribosome: {workers: 1, worker_min_fuel: 0}\n",
    wait: () => {
      entered++
      return gate
    },
    workerScript: CRASHING_WORKER,
  })
  try {
    const things =
      (await installApp(conductor, await packed("tests/fixtures/happs/host_fns"), "host_fns"))[
        "host_fns"
      ]!
    const bad =
      (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
        "misbehave"
      ]!
    const waiting =
      (await installApp(conductor, await packed("tests/fixtures/happs/wait"), "wait"))["wait"]!
    const chain = await conductor.runPromise(Effect.service(Chain))
    const length = () => chain.length(things.dna.hash, things.agent)
    for (let i = 0; i < 5; i++) {
      await callZome(conductor, things, "host_fns", "call_create", {
        entry_type: "thing",
        entry: { value: i },
      })
    }
    const acknowledged = length()
    // A call waits in a host function (its guest is suspended in the worker) while the worker dies.
    const inFlight = callZomeError(conductor, waiting, "wait", "wait", null)
    await waitFor(() => entered === 1, "the call to enter test_wait_1", { intervalMs: 5 })
    const crashed = await callZomeError(conductor, bad, "trap", "trap")
    const lost = await inFlight
    for (const error of [crashed, lost]) {
      assertEquals(error.reason, "Trap")
      assert(
        error.detail.includes("did not complete: uncaught error in a guest worker") &&
          error.detail.includes("a worker bug, injected by the test") &&
          error.detail.includes("nothing it wrote was committed"),
        error.detail,
      )
    }
    open()
    const pool = await workersOf(conductor)
    assertEquals(pool.died, 1)
    // The next calls run in a new worker; every acknowledged write is still there.
    assertEquals(await callZome(conductor, waiting, "noop", "noop", "again"), "again")
    assertEquals(length(), acknowledged)
    await callZome(conductor, things, "host_fns", "call_create", {
      entry_type: "thing",
      entry: { value: 5 },
    })
    assertEquals(length(), acknowledged + 1)
    const after = await workersOf(conductor)
    assertEquals(after.started, 2)
    assertEquals(after.running, 1)
  } finally {
    open()
    await conductor.dispose()
  }
})
