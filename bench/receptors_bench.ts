/**
 * Benchmarks of the `recovery` receptor on a real SQLite file (WAL, `synchronous = normal`):
 * - a checkpoint (one command that sets one 1 KiB entry) through `callReceptor`, p50, in
 *   sessions of 1 KiB, 100 KiB and 10 MiB (1, 100 and 10,240 entries of 1 KiB);
 * - the baseline it replaced: a whole-snapshot checkpoint (MAP's format 1: serialise the whole
 *   session, SHA-256 it, insert it in one transaction) at the same sizes, measured in the same run;
 * - undo and redo p50 at each size;
 * - starting the receptor with one open 10 MiB session (restore: read the format, check the
 *   digest and every checkpoint hash).
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { RecoveryReceptorConfig } from "../core/config/mod.ts"
import { callReceptor } from "../core/receptors/mod.ts"
import { openStore } from "../core/store/mod.ts"
import { startRecovery } from "../receptors/recovery/recovery.ts"
import { emit, median } from "./report.ts"

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

async function deltaRun(size: { label: string; entries: number }, dir: string) {
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

async function restoreRun(dir: string) {
  const samples: Array<number> = []
  for (let n = 0; n < 5; n++) {
    samples.push(
      await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
        const start = performance.now()
        const { report } = yield* startRecovery(config, { dir, synchronous: "normal" })
        if (report.restored !== 1) throw new Error("the session was not restored")
        return (performance.now() - start) * 1000
      }))),
    )
  }
  return median(samples)
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
    value: restore / 1000,
    unit: "ms",
    detail: "format read, entries digest and every checkpoint hash checked",
  })
  console.error(ratios.join("; "))
}
