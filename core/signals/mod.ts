/**
 * App signal fan-out.
 *
 * @module
 */
export * from "./signals.ts"
