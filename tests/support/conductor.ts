/**
 * Test harness: the whole conductor service graph over an in-memory (or temporary file) SQLite
 * store with a test keystore, plus helpers to pack fixture hApps and make zome calls with
 * JSON-ish payloads. Used by integration tests; never shipped.
 *
 * @module
 */
import { Effect, Fiber, Layer, ManagedRuntime, PubSub } from "effect"
import { parse, stringify } from "yaml"
import { packDirectory } from "../../core/bundle/mod.ts"
import { decode, encode } from "../../core/codec/mod.ts"
import { conductorServices } from "../../core/conductor/conductor_layer.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { Hasher } from "../../core/hash/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { Store } from "../../core/store/mod.ts"
import { Apps } from "../../core/app/mod.ts"
import { Cells, type RunningCell } from "../../core/cell/mod.ts"
import { ZomeCalls } from "../../core/workflow/zome_call.ts"
import { Signals } from "../../core/signals/mod.ts"
import { CLEANUP_TIMEOUT_MS, WAIT_TIMEOUT_MS, withTimeout } from "./timeout.ts"

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname

/** Packs a folder (relative to the repository root) and returns the bundle bytes. */
export async function packed(dir: string): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({
    suffix: dir.endsWith("forum") || dir.includes("happs") ? ".happ" : ".dna",
  })
  const result = await Effect.runPromise(
    packDirectory(`${ROOT}${dir}`, { outPath: out }).pipe(Effect.provide(Hasher.layer)),
  )
  await Deno.remove(out)
  return result.bytes
}

/** Options of `makeConductor`. */
export interface TestConductorOptions {
  /** Extra YAML config. */
  readonly config?: string
  /** A SQLite file instead of memory (for restart tests). */
  readonly file?: string
}

/**
 * A test's config YAML, in worker mode when `CONDUCTOR_TEST_WORKERS=n` is set: the same tests
 * then run every guest call that may wait in one of `n` guest workers (`ribosome.workers: n`,
 * `ribosome.worker_min_fuel: 0`), so a suite checks both engines.
 */
export function testConfig(yaml: string): string {
  const workers = Deno.env.get("CONDUCTOR_TEST_WORKERS")
  if (workers === undefined || workers === "") return yaml
  const config = (parse(yaml) ?? {}) as Record<string, Record<string, unknown> | undefined>
  config["ribosome"] = { ...config["ribosome"], workers: Number(workers), worker_min_fuel: 0 }
  return stringify(config)
}

/** A running test conductor. */
export function makeConductor(options: TestConductorOptions = {}) {
  const config = ConductorConfig.fromYaml(testConfig(options.config ?? "log: {level: warn}\n"))
  const store = options.file === undefined ? Store.layerMemory : Store.layerAt(options.file)
  const layer = conductorServices({ store, keystore: Keystore.layerTest() }).pipe(
    Layer.provideMerge(config),
  )
  return ManagedRuntime.make(layer)
}

/** The conductor runtime type. */
export type TestConductor = ReturnType<typeof makeConductor>

/** Disposes a conductor runtime (every finalizer runs), bounded by `CLEANUP_TIMEOUT_MS`. */
export function disposeConductor(conductor: { readonly dispose: () => Promise<void> }) {
  return withTimeout(conductor.dispose(), CLEANUP_TIMEOUT_MS, "disposing the conductor runtime")
}

/** Installs and enables a bundle; returns the app's running cells by label. */
export async function installApp(conductor: TestConductor, happ: Uint8Array, appId: string) {
  return await conductor.runPromise(Effect.gen(function* () {
    const apps = yield* Apps
    yield* apps.install({ source: { type: "bytes", value: happ }, installedAppId: appId })
    yield* apps.enable(appId)
    const cells = yield* Cells
    return Object.fromEntries(cells.byApp(appId).map((c) => [c.label, c])) as Record<
      string,
      RunningCell
    >
  }))
}

/** Calls a zome function as the cell's own agent with a JS payload; decodes the result. */
export async function callZome(
  conductor: TestConductor,
  cell: RunningCell,
  zome: string,
  fn: string,
  payload: unknown = null,
) {
  const output = await conductor.runPromise(Effect.gen(function* () {
    const calls = yield* ZomeCalls
    return yield* calls.call({
      cellId: cell.cellId,
      zome,
      fn,
      payload: encode(payload),
      provenance: cell.agent,
      capSecret: null,
    })
  }))
  return decode(output)
}

/** Collects every app signal published while it runs; `stop()` ends the subscription. */
export function collectSignals(conductor: TestConductor) {
  const received: Array<{ appId: string; zomeName: string; signal: unknown }> = []
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const fiber = conductor.runFork(Effect.scoped(Effect.gen(function* () {
    const signals = yield* Signals
    const subscription = yield* signals.subscribe
    while (true) {
      const signal = yield* PubSub.take(subscription)
      received.push({
        appId: signal.appId,
        zomeName: signal.zomeName,
        signal: decode(signal.signal),
      })
      for (const waiter of [...waiters]) {
        if (received.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
      }
    }
  })))
  return {
    received,
    /** Resolves once at least `count` signals arrived (fails after `WAIT_TIMEOUT_MS`). */
    atLeast: (count: number) =>
      received.length >= count ? Promise.resolve() : withTimeout(
        new Promise<void>((resolve) => waiters.push({ count, resolve })),
        WAIT_TIMEOUT_MS,
        `${count} signals (${received.length} arrived)`,
      ),
    stop: () =>
      withTimeout(
        conductor.runPromise(Fiber.interrupt(fiber)),
        CLEANUP_TIMEOUT_MS,
        "ending the signal subscription",
      ),
  }
}

/** Calls a zome function expecting it to fail; returns the `ZomeCallError` (fails if it succeeds). */
export function callZomeError(
  conductor: TestConductor,
  cell: RunningCell,
  zome: string,
  fn: string,
  payload: unknown = null,
  provenance = cell.agent,
) {
  return conductor.runPromise(Effect.gen(function* () {
    const calls = yield* ZomeCalls
    return yield* Effect.flip(
      calls.call({
        cellId: cell.cellId,
        zome,
        fn,
        payload: encode(payload),
        provenance,
        capSecret: null,
      }),
    )
  }))
}
