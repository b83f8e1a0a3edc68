/**
 * What every benchmark prints: one JSON line per measurement (`bench/run.ts` reads them), plus
 * the order statistics they quote. Owns the line format; it does not run anything.
 *
 * @module
 */

/** One measurement, as `bench/run.ts` reads it. */
export interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly detail?: string
}

/** Prints `result` as one JSON line on stdout. */
export function emit(result: Result): void {
  // deno-lint-ignore no-console
  console.log(JSON.stringify(result))
}

/** The `q` quantile (0..1) of already sorted samples. */
export function quantile(sorted: ReadonlyArray<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** The median of `values` (upper median for an even count). */
export function median(values: ReadonlyArray<number>): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
