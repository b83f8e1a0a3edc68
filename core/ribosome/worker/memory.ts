/**
 * A full garbage collection on demand, for the moment the ribosome has just dropped warm
 * instances and nothing runs: their linear memories (`ArrayBuffer`s of ~2 MB each) are freed
 * only when V8 collects them, and V8's memory reducer may have run before the drop and not run
 * again while the process stays idle (docs/decisions.md, "Memory after instances are dropped").
 *
 * Deno does not expose `gc` by default; `--expose-gc` set at run time through `node:v8` exposes it
 * to contexts made afterwards, so a fresh `node:vm` context hands it over. No other V8 flag is
 * changed, so nothing else runs differently.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

let collect: (() => void) | null | undefined

/** The `gc` function, or null when this runtime does not give one. */
function collector(): (() => void) | null {
  if (collect !== undefined) return collect
  try {
    setFlagsFromString("--expose-gc")
    const gc: unknown = runInNewContext("gc")
    collect = typeof gc === "function" ? () => gc() : null
  } catch {
    collect = null
  }
  return collect
}

/** Runs a full garbage collection; the time it took in ms, or undefined when unavailable. */
export function collectGarbage(): number | undefined {
  const gc = collector()
  if (gc === null) return undefined
  const start = performance.now()
  gc()
  return performance.now() - start
}
