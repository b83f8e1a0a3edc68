/**
 * Benchmark of replay protection as the table of witnessed nonces grows: the main-thread cost per
 * signed call of witnessing its nonce and writing it behind (one transaction per 250 nonces, as
 * the 100 ms flush does at 2,500 calls per second), on a real SQLite file with the conductor's
 * schema, measured at several table sizes up to 500,000 live nonces (about 3 minutes of calls at
 * that rate with the client's 5-minute expiry).
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * Run: `deno run -A bench/nonce_bench.ts`.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { makeNonceWitness } from "../core/app_interface/nonces.ts"
import { Store } from "../core/store/mod.ts"

const BATCH = 250
const SIZES = [10_000, 100_000, 250_000, 500_000]
const EXPIRY_MICROS = 5 * 60 * 1_000_000

const program = Effect.gen(function* () {
  const witness = yield* makeNonceWitness
  const provenance = new Uint8Array(39).fill(7)
  const results: Array<{ size: number; micros: number }> = []
  let witnessed = 0
  // One batch: BATCH calls' nonces witnessed, then one flush; the clock moves 100 ms per batch.
  const batch = Effect.gen(function* () {
    const now = Date.now()
    yield* TestClock.setTime(now)
    const nonces = Array.from({ length: BATCH }, () => crypto.getRandomValues(new Uint8Array(32)))
    const started = performance.now()
    for (const nonce of nonces) {
      if (witness.witness(provenance, nonce, now * 1000 + EXPIRY_MICROS) !== "ok") {
        return yield* Effect.die(new Error("a fresh nonce was refused"))
      }
    }
    yield* witness.flush
    witnessed += BATCH
    return performance.now() - started
  })
  for (const size of SIZES) {
    while (witnessed < size - 20 * BATCH) yield* batch
    const samples: Array<number> = []
    for (let i = 0; i < 20; i++) samples.push(yield* batch)
    samples.sort((a, b) => a - b)
    results.push({ size, micros: (samples[10]! * 1000) / BATCH })
  }
  return results
})

if (import.meta.main) {
  const dir = await Deno.makeTempDir()
  const results = await Effect.runPromise(
    program.pipe(
      Effect.provide(
        Layer.effect(Store, Store.make(`${dir}/nonces.sqlite3`)).pipe(
          Layer.provideMerge(TestClock.layer()),
        ),
      ),
      Effect.scoped,
    ),
  )
  for (const { size, micros } of results) {
    console.log(JSON.stringify({
      name: `nonce witnessed and written, ${size.toLocaleString("en")} live nonces`,
      value: micros,
      unit: "µs",
      detail: `per call, median of 20 batches of ${BATCH} (witness + one flush transaction)`,
    }))
  }
  await Deno.remove(dir, { recursive: true })
}
