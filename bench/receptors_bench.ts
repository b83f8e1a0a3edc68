/**
 * Benchmarks of the `recovery` receptor on a real SQLite file (WAL, `synchronous = normal`):
 * - a checkpoint (one command that sets one 1 KiB entry) through `callReceptor`, p50, in
 *   sessions of 1 KiB, 100 KiB and 10 MiB (1, 100 and 10,240 entries of 1 KiB);
 * - the baseline it replaced: a whole-snapshot checkpoint (MAP's format 1: serialise the whole
 *   session, SHA-256 it, insert it in one transaction) at the same sizes, measured in the same run;
 * - undo and redo p50 at each size;
 * - starting the receptor with one open 10 MiB session (formats read; the digest and checkpoint
 *   hashes are checked on the session's first use, timed too, next to the check alone);
 * - a receptor call from a zome (`receptor_call_1`, a local_store `get` of a 1 KiB value), p50
 *   of whole zome calls making 1 and 100 such calls, next to the same zome calls made through
 *   `bench_kv_get_1`, a host function that does the same get on its own local_store (the
 *   baseline, measured in the same run, alternating with the receptor calls).
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect, Exit, Layer, ManagedRuntime, Schema, Scope } from "effect"
import { createHash } from "node:crypto"
import { encode } from "../core/codec/mod.ts"
import { conductorServices } from "../core/conductor/conductor_layer.ts"
import {
  ConductorConfig,
  LocalStoreReceptorConfig,
  RecoveryReceptorConfig,
} from "../core/config/mod.ts"
import { Keystore } from "../core/keystore/mod.ts"
import { callReceptor, Receptors } from "../core/receptors/mod.ts"
import {
  type AnyHostFn,
  CALLS,
  defineHostFn,
  HostFnError,
  WRITE_FUEL,
} from "../core/ribosome/host_fn/host_fn.ts"
import { HostFns, hostFnsByName } from "../core/ribosome/host_fn/registry.ts"
import { Store } from "../core/store/mod.ts"
import { ZomeCalls } from "../core/workflow/zome_call.ts"
import { startLocalStore } from "../receptors/local_store/local_store.ts"
import { installApp, packed } from "../tests/support/conductor.ts"
import { openStore } from "../core/store/mod.ts"
import { startRecovery } from "../receptors/recovery/recovery.ts"
import { emit, median, quantile } from "./report.ts"

const config = Schema.decodeUnknownSync(RecoveryReceptorConfig)({
  id: "bench",
  type: "recovery",
  "max_changes": 100_000,
  "max_undo": 100_000,
})

const ENTRY = 1024
const SIZES = [
  { label: "1 KiB", entries: 1 },
  { label: "100 KiB", entries: 100 },
  { label: "10 MiB", entries: 10_240 },
]

/** A 1 KiB JSON value (the key and JSON quoting bring the entry to ~1 KiB). */
function value(seed: number): string {
  return `${seed}:`.padEnd(ENTRY - 16, "abcdefghijklmnopqrstuvwxyz".charAt(seed % 26))
}

function timed(f: () => void): number {
  const start = performance.now()
  f()
  return (performance.now() - start) * 1000
}

export async function deltaRun(size: { label: string; entries: number }, dir: string) {
  const checkpoints = 200
  return await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor } = yield* startRecovery(config, { dir, synchronous: "normal" })
    const run = (op: string, input: unknown) => Effect.runSync(callReceptor(receptor, op, input))
    const initial: Record<string, string> = {}
    for (let i = 0; i < size.entries; i++) initial[`e${i}`] = value(i)
    run("open", { session: "s", initial })
    const checkpoint: Array<number> = []
    for (let n = 0; n < checkpoints; n++) {
      const set = { [`e${n % size.entries}`]: value(n + 7) }
      checkpoint.push(timed(() => run("checkpoint", { session: "s", set })))
    }
    const undo: Array<number> = []
    const redo: Array<number> = []
    for (let n = 0; n < 100; n++) {
      undo.push(timed(() => run("undo", { session: "s" })))
      redo.push(timed(() => run("redo", { session: "s" })))
    }
    return { checkpoint: median(checkpoint), undo: median(undo), redo: median(redo) }
  })))
}

function snapshotRun(size: { label: string; entries: number }, dir: string) {
  // The format 1 way: every checkpoint writes the whole session, hashed.
  const store = openStore(`${dir}/snapshots.sqlite3`, { synchronous: "normal", migrations: [] })
  store.db.exec(
    "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY, blob TEXT NOT NULL, hash TEXT NOT NULL)",
  )
  const insert = store.prepare("INSERT INTO snapshot (blob, hash) VALUES (?, ?)")
  const state: Record<string, string> = {}
  for (let i = 0; i < size.entries; i++) state[`e${i}`] = value(i)
  const rounds = size.entries > 1000 ? 30 : 200
  const samples: Array<number> = []
  for (let n = 0; n < rounds; n++) {
    state[`e${n % size.entries}`] = value(n + 7)
    samples.push(timed(() => {
      const blob = JSON.stringify(state)
      const hash = createHash("sha256").update(blob).digest("hex")
      store.transaction(() => insert.run(blob, hash))
    }))
  }
  store.db.close()
  return { median: median(samples), rounds }
}

export async function restoreRun(dir: string) {
  const start: Array<number> = []
  const firstUse: Array<number> = []
  const check: Array<number> = []
  for (let n = 0; n < 5; n++) {
    await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const t0 = performance.now()
      const { receptor, report, sessions } = yield* startRecovery(config, {
        dir,
        synchronous: "normal",
      })
      start.push((performance.now() - t0) * 1000)
      if (report.restored !== 1) throw new Error("the session was not restored")
      const t1 = performance.now()
      yield* callReceptor(receptor, "get", { session: "s", keys: ["e0"] })
      firstUse.push((performance.now() - t1) * 1000)
      // What every start paid before the check became lazy.
      const t2 = performance.now()
      if (sessions.verify("s") !== undefined) throw new Error("the session is corrupt")
      check.push((performance.now() - t2) * 1000)
    })))
  }
  return { start: median(start), firstUse: median(firstUse), check: median(check) }
}

/**
 * Zome calls that read one 1 KiB value `n` times, through the `notes` receptor or through
 * `bench_kv_get_1` (the same local_store get, on a store of its own, as a plain host function).
 * Returns the sorted latencies (µs) of each, measured alternately.
 */
async function zomeRun(dir: string, n: number, rounds: number) {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const storeConfig = Schema.decodeUnknownSync(LocalStoreReceptorConfig)({
      id: "baseline",
      type: "local_store",
    })
    const baseline = await Effect.runPromise(
      startLocalStore(storeConfig, { dir, synchronous: "normal" }).pipe(Scope.provide(scope)),
    )
    const get = baseline.operations.get
    const benchKvGet = defineHostFn({
      name: "bench_kv_get_1",
      input: Schema.Struct({ key: Schema.String }),
      allowedIn: CALLS,
      fuel: WRITE_FUEL,
      run: (_ctx, input) =>
        get.run(input).pipe(
          Effect.mapError((e) => new HostFnError({ kind: "internal", detail: e.detail })),
        ),
    })
    const hostFns = new Map<string, AnyHostFn>([
      ...hostFnsByName,
      [benchKvGet.name, benchKvGet as AnyHostFn],
    ])
    const conductor = ManagedRuntime.make(
      conductorServices({ store: Store.layerMemory, keystore: Keystore.layerTest() }).pipe(
        Layer.provideMerge(ConductorConfig.fromYaml(`data_dir: ${dir}/conductor
log: {level: error}
receptors:
  - id: notes
    type: local_store
    grants: {apps: [bench]}
`)),
        Layer.provideMerge(Layer.succeed(HostFns, hostFns)),
      ),
    )
    try {
      const stored = { key: "k", value: value(1) }
      await Effect.runPromise(baseline.operations.put.run(stored))
      await conductor.runPromise(
        Effect.flatMap(Effect.service(Receptors), (r) => r.call("notes", "put", stored)),
      )
      const cell = (await installApp(
        conductor,
        await packed("tests/fixtures/happs/receptor_bench"),
        "bench",
      ))["main"]!
      const payload = encode({ key: "k", n })
      const once = async (fn: string) => {
        const start = performance.now()
        await conductor.runPromise(Effect.gen(function* () {
          const calls = yield* ZomeCalls
          return yield* calls.call({
            cellId: cell.cellId,
            zome: "receptor_bench",
            fn,
            payload,
            provenance: cell.agent,
            capSecret: null,
          })
        }))
        return (performance.now() - start) * 1000
      }
      for (let i = 0; i < Math.max(20, rounds / 5); i++) {
        await once("via_receptor")
        await once("via_host_fn")
      }
      const receptor: Array<number> = []
      const hostFn: Array<number> = []
      for (let i = 0; i < rounds; i++) {
        receptor.push(await once("via_receptor"))
        hostFn.push(await once("via_host_fn"))
      }
      return {
        receptor: receptor.sort((a, b) => a - b),
        hostFn: hostFn.sort((a, b) => a - b),
      }
    } finally {
      await conductor.dispose()
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** The receptor-from-a-zome benchmark (also runnable alone: `deno eval` this function). */
export async function zomeCallBench() {
  const dir = await Deno.makeTempDir()
  try {
    for (const [n, rounds] of [[1, 1000], [100, 100]] as const) {
      const { receptor, hostFn } = await zomeRun(dir, n, rounds)
      const r50 = quantile(receptor, 0.5)
      const h50 = quantile(hostFn, 0.5)
      emit({
        name: `receptor call from a zome (local_store get, 1 KiB), ${n} per zome call, p50`,
        value: r50,
        unit: "µs",
        detail: `per zome call; a host function doing the same get: ${h50.toFixed(0)} µs (${
          (r50 / h50).toFixed(2)
        }×, goal ≤ 2×); p90 ${quantile(receptor, 0.9).toFixed(0)} vs ${
          quantile(hostFn, 0.9).toFixed(0)
        } µs; ${rounds} calls each, alternating`,
      })
      if (n > 1) {
        emit({
          name: "receptor call from a zome, marginal cost per call (100 per zome call), p50",
          value: r50 / n,
          unit: "µs",
          detail: `host function doing the same get: ${(h50 / n).toFixed(1)} µs per call (${
            (r50 / h50).toFixed(2)
          }×)`,
        })
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
}

if (import.meta.main) {
  const ratios: Array<string> = []
  let tenMiB = ""
  for (const size of SIZES) {
    const dir = await Deno.makeTempDir()
    try {
      const delta = await deltaRun(size, dir)
      const snapshot = snapshotRun(size, dir)
      emit({
        name: `recovery checkpoint, ${size.label} session, p50`,
        value: delta.checkpoint,
        unit: "µs",
        detail: `one 1 KiB entry changed, 200 checkpoints; a whole snapshot (format 1) costs ${
          snapshot.median.toFixed(0)
        } µs here (${snapshot.rounds} rounds), ${
          (snapshot.median / delta.checkpoint).toFixed(2)
        }× this`,
      })
      emit({ name: `recovery undo, ${size.label} session, p50`, value: delta.undo, unit: "µs" })
      emit({ name: `recovery redo, ${size.label} session, p50`, value: delta.redo, unit: "µs" })
      ratios.push(
        `${size.label}: delta ${delta.checkpoint.toFixed(0)} µs, snapshot ${
          snapshot.median.toFixed(0)
        } µs`,
      )
      if (size.entries === SIZES.at(-1)!.entries) tenMiB = dir
      else await Deno.remove(dir, { recursive: true })
    } catch (error) {
      await Deno.remove(dir, { recursive: true })
      throw error
    }
  }
  const restore = await restoreRun(tenMiB)
  await Deno.remove(tenMiB, { recursive: true })
  emit({
    name: "recovery start with one open 10 MiB session (200 checkpoints), p50",
    value: restore.start / 1000,
    unit: "ms",
    detail: `formats read; hashes checked on first use: the first get of that session took ${
      (restore.firstUse / 1000).toFixed(1)
    } ms; the check alone ${(restore.check / 1000).toFixed(1)} ms (paid at every start before)`,
  })
  console.error(ratios.join("; "))
  await zomeCallBench()
}
