/**
 * A `type: wasm` receptor call next to a built-in receptor doing the same work, on real SQLite
 * files (WAL, `synchronous = normal`), through `callReceptor` (what the HTTP API, the CLI and
 * zomes use):
 * - read one key: the counter example's `get` (one `kv_get_1`) vs `local_store.get`;
 * - read and write one key: the counter's `increment` (`kv_get_1` + `kv_put_1`) vs
 *   `local_store.put` with `if_version` (a version read and a write in one transaction);
 * - the plugin overhead alone: `echo` of a small map in the misbehave fixture (no host call).
 * p50 of 2000 calls each after 1000 warm-up calls. Needs `deno task build:wasm`.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { LocalStoreReceptorConfig, WasmReceptorConfig } from "../core/config/mod.ts"
import { callReceptor, type Receptor } from "../core/receptors/mod.ts"
import { startLocalStore } from "../receptors/local_store/local_store.ts"
import { startWasmReceptor } from "../receptors/wasm/wasm_receptor.ts"
import { emit, median } from "./report.ts"

const ROOT = new URL("../", import.meta.url).pathname
const CALLS = 2000
const WARMUP = 1000

async function p50(receptor: Receptor, op: string, input: (i: number) => unknown) {
  for (let i = 0; i < WARMUP; i++) await Effect.runPromise(callReceptor(receptor, op, input(i)))
  const samples: Array<number> = []
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now()
    await Effect.runPromise(callReceptor(receptor, op, input(i)))
    samples.push((performance.now() - start) * 1000)
  }
  return median(samples)
}

const dir = await Deno.makeTempDir()
try {
  const env = { dir, synchronous: "normal" as const, configDir: ROOT }
  const results = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const wasm = (id: string, path: string, extra: Record<string, unknown> = {}) =>
      Effect.map(
        startWasmReceptor(
          Schema.decodeUnknownSync(WasmReceptorConfig)({ id, type: "wasm", path, ...extra }),
          env,
        ),
        (s) => s.receptor,
      )
    const counter = yield* wasm(
      "counter",
      "examples/receptor-counter/build/receptor_counter.wasm",
      {
        kv: true,
      },
    )
    const misbehave = yield* wasm("misbehave", "tests/fixtures/build/receptor_misbehave.wasm", {
      "allowed_hosts": ["127.0.0.1"],
      "allowed_paths": [{ path: dir, write: true }],
    })
    const { receptor: store } = yield* startLocalStore(
      Schema.decodeUnknownSync(LocalStoreReceptorConfig)({ id: "store", type: "local_store" }),
      env,
    )
    return yield* Effect.promise(async () => {
      await Effect.runPromise(callReceptor(counter, "increment", { name: "k" }))
      await Effect.runPromise(callReceptor(store, "put", { key: "count/k", value: 1 }))
      const wasmGet = await p50(counter, "get", () => ({ name: "k" }))
      const storeGet = await p50(store, "get", () => ({ key: "count/k" }))
      const wasmIncrement = await p50(counter, "increment", () => ({ name: "k" }))
      let version = 1
      const storePut = await p50(
        store,
        "put",
        (i) => ({ key: "count/k", value: i, "if_version": version++ }),
      )
      const echo = await p50(misbehave, "echo", (i) => ({ name: "k", n: i }))
      return { wasmGet, storeGet, wasmIncrement, storePut, echo }
    })
  })))
  const detail = (baseline: number, v: number) =>
    `${(v / baseline).toFixed(2)}x the built-in local_store doing the same work (${
      baseline.toFixed(1)
    } us), same run`
  emit({
    name: "wasm receptor get (1 kv read) p50",
    value: results.wasmGet,
    unit: "us",
    detail: detail(results.storeGet, results.wasmGet),
  })
  emit({ name: "local_store get p50 (baseline)", value: results.storeGet, unit: "us" })
  emit({
    name: "wasm receptor increment (kv read + write) p50",
    value: results.wasmIncrement,
    unit: "us",
    detail: detail(results.storePut, results.wasmIncrement),
  })
  emit({ name: "local_store put if_version p50 (baseline)", value: results.storePut, unit: "us" })
  emit({ name: "wasm receptor echo (no host call) p50", value: results.echo, unit: "us" })
} finally {
  await Deno.remove(dir, { recursive: true })
}
