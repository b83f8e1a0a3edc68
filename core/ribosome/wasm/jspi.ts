/**
 * Typed access to JSPI (the WebAssembly JavaScript Promise Integration API), which Deno 2.9
 * ships but TypeScript's lib does not declare yet: `WebAssembly.Suspending` wraps an import
 * that may return a promise (the wasm stack is suspended until it settles) and
 * `WebAssembly.promising` wraps an export so that calling it returns a promise.
 *
 * @module
 */

interface Jspi {
  readonly Suspending: new (fn: (...args: never[]) => unknown) => object
  readonly promising: (
    fn: (...args: never[]) => unknown,
  ) => (...args: unknown[]) => Promise<unknown>
}

const jspi = WebAssembly as unknown as Jspi

/** True when this runtime provides JSPI. */
export const jspiAvailable: boolean = typeof jspi.Suspending === "function" &&
  typeof jspi.promising === "function"

/** Wraps a host function as an import that may suspend the guest while its promise is pending. */
export function suspending<A extends unknown[]>(
  fn: (...args: A) => unknown,
): WebAssembly.ImportValue {
  return new jspi.Suspending(fn as (...args: never[]) => unknown) as WebAssembly.ImportValue
}

/** Wraps an exported wasm function so that a call returns a promise of its result. */
export function promising(fn: () => unknown): () => Promise<unknown> {
  return jspi.promising(fn) as () => Promise<unknown>
}
