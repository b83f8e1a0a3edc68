/**
 * Running cells.
 *
 * @module
 */
export * from "./cells.ts"
